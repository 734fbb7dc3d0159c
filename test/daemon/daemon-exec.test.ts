/**
 * `vigil run`'s own memory settings (bin/daemon-exec.js): which command lines are re-executed with
 * which flags and variables (pure), and on a real host (lab namespace) that the daemon process is
 * the one started — same PID, the pid file's — with the flags on its command line, its log lines
 * still on stderr (node marks stdio close-on-exec), and notify scripts not inheriting the
 * variables set for the daemon's own malloc.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DAEMON_NODE_FLAGS, daemonExec, EXEC_ENV_MARKER, execEnvNames } from "../../bin/daemon-exec.js";
import { vigilBin, vigilRunArgs } from "../netns/support/vigil.ts";
import { skipUnlessLab } from "../support/env.ts";
import { Lab, waitFor } from "../support/lab.ts";

const argv = (...rest: string[]): string[] => ["/usr/bin/node", "/opt/vigil/bin/vigil.js", ...rest];

describe("daemonExec: which command lines get the daemon's flags", () => {
  it("only `run`, with every flag and MALLOC_ARENA_MAX, node's own options first", () => {
    const plan = daemonExec(argv("run", "-f", "k.conf"), ["--enable-source-maps"], {});
    expect(plan).toEqual({
      args: ["--enable-source-maps", ...DAEMON_NODE_FLAGS, "/opt/vigil/bin/vigil.js", "run", "-f", "k.conf"],
      env: { MALLOC_ARENA_MAX: "1", [EXEC_ENV_MARKER]: "MALLOC_ARENA_MAX" },
    });
    for (const other of [
      ["--version"],
      ["check", "-f", "run"],
      [],
      ["status", "run"],
      ["run", "--help"],
      ["run", "-f", "k.conf", "-h"],
    ])
      expect(daemonExec(argv(...other), [], {})).toBeUndefined();
  });

  it("leaves to the operator what they gave: on node's command line, in NODE_OPTIONS, in any spelling", () => {
    const semi = "--max-semi-space-size=4";
    expect(daemonExec(argv("run"), [semi], {})?.args).toEqual([
      semi,
      ...DAEMON_NODE_FLAGS.filter((f) => !f.startsWith("--max-semi-space-size")),
      "/opt/vigil/bin/vigil.js",
      "run",
    ]);
    const both = "--max_semi_space_size=2 --heap-growing-percent=50";
    expect(daemonExec(argv("run"), [], { NODE_OPTIONS: both })).toBeUndefined();
    // after the exec the flags are there: no second exec
    expect(daemonExec(argv("run"), [...DAEMON_NODE_FLAGS], {})).toBeUndefined();
    expect(daemonExec(argv("run"), [], { MALLOC_ARENA_MAX: "4" })?.env).toEqual({});
  });

  it("the marker names what to remove again, and never more than the daemon's own variables", () => {
    expect(execEnvNames({ [EXEC_ENV_MARKER]: "MALLOC_ARENA_MAX" })).toEqual([
      "MALLOC_ARENA_MAX",
      EXEC_ENV_MARKER,
    ]);
    expect(execEnvNames({ [EXEC_ENV_MARKER]: "PATH,HOME,MALLOC_ARENA_MAX" })).toEqual([
      "MALLOC_ARENA_MAX",
      EXEC_ENV_MARKER,
    ]);
    expect(execEnvNames({ MALLOC_ARENA_MAX: "2" })).toEqual([]);
  });
});

const suite = "netns: vigil run re-executes itself with the daemon's flags";
describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab | undefined;
  afterAll(async () => {
    await lab?.destroy();
  });

  it("same PID as started and in the pid file, flags on its command line, logs on stderr, scripts without its variables", async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}dx`, hosts: 1 });
    const h1 = lab.host(1);
    const dir = lab.tempDir();
    const envFile = join(dir, "notify.env");
    const script = join(dir, "notify.sh");
    writeFileSync(script, `#!/bin/sh\nenv > ${envFile}.tmp && mv ${envFile}.tmp ${envFile}\n`);
    chmodSync(script, 0o755);
    const conf = join(dir, "vigil.conf");
    writeFileSync(
      conf,
      `vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 61
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.18.${lab.subnet}.61/24
  }
  notify_master ${script}
}
`,
    );
    const pidFile = join(dir, "vigil.pid");
    const vigil = lab.spawn(
      h1.ns,
      process.execPath,
      vigilRunArgs({ config: conf, journalDir: join(dir, "journal"), pidFile }),
      { label: "vigil run", env: { ...process.env, NODE_OPTIONS: "" } },
    );
    expect(vigilBin).toContain("bin/vigil.js");
    const pid = await waitFor("the pid file", () => {
      try {
        return Number(readFileSync(pidFile, "utf8").trim()) || undefined;
      } catch {
        return undefined;
      }
    });
    expect(pid).toBe(vigil.pid);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    for (const flag of DAEMON_NODE_FLAGS) expect(cmdline).toContain(flag);
    await waitFor("Entering MASTER STATE on stderr", () =>
      vigil.output.includes("Entering MASTER STATE") ? true : undefined,
    );
    const env = await waitFor("the notify script's environment", () => {
      try {
        return readFileSync(envFile, "utf8");
      } catch {
        return undefined;
      }
    });
    expect(env).not.toMatch(/^MALLOC_ARENA_MAX=/m);
    expect(env).not.toMatch(new RegExp(`^${EXEC_ENV_MARKER}=`, "m"));
    await vigil.stop("SIGTERM", 10_000);
  });
});
