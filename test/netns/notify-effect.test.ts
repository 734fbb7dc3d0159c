/**
 * The notify actor's production port and the process runner on the real host (root, no network):
 * notify scripts record their argv and credentials to files (instance and group requests, order
 * asserted), FIFO lines are read from a real FIFO by the FIFO script, a FIFO without reader never
 * blocks, a 60 s script does not hold up the next notify, a timeout kills the whole process group,
 * 50 MB of output stays bounded, a script that forks and exits does not keep the runner busy,
 * missing / non-executable / unsafe scripts are refused with keepalived's lines, and a script runs
 * as nobody with no supplementary groups. Every process started here is killed by PID at the end.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { createNotifyPort } from "../../src/effects/notify.effect.ts";
import {
  createProcessRunner,
  EffectError,
  type ProcessRunner,
  type RunHandle,
} from "../../src/effects/process-runner.ts";
import { nodeScriptEnv } from "../../src/effects/script-security.ts";
import { memFs } from "../config/memfs.ts";
import { skipUnlessLab } from "../support/env.ts";
import { waitFor } from "../support/lab.ts";

const suite = "host: notify scripts, FIFO and process runner";

/** Whether `pid` is a live process (a zombie waiting for PID 1 to reap it counts as gone). */
const alive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};

describe.skipIf(skipUnlessLab(suite, { root: true }))(suite, () => {
  let dir = "";
  const started: number[] = [];
  const runners: ProcessRunner[] = [];
  /** A runner that remembers every start (argv order, PIDs for cleanup). */
  const recordingRunner = (): { runner: ProcessRunner; argvs: string[][] } => {
    const inner = createProcessRunner();
    runners.push(inner);
    const argvs: string[][] = [];
    return {
      argvs,
      runner: {
        start: async (spec) => {
          argvs.push([...spec.argv]);
          const h = await inner.start(spec);
          started.push(h.pid);
          return h;
        },
        killAll: (s) => inner.killAll(s),
        get running() {
          return inner.running;
        },
      },
    };
  };
  const script = (rel: string, body: string, mode = 0o755): string => {
    const p = `${dir}/${rel}`;
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, mode);
    return p;
  };
  const load = (text: string): Config => {
    const r = loadConfig("k.conf", { fs: memFs({ "k.conf": text }), configId: "x" });
    if (r.config === undefined) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
    return r.config;
  };
  const records = (): Array<{ uid: string; gid: string; groups: string; argv: string[] }> =>
    readdirSync(`${dir}/out`)
      .filter((f) => f.endsWith(".rec"))
      .map((f) => {
        const lines = readFileSync(`${dir}/out/${f}`, "utf8").trimEnd().split("\n");
        const [uid, gid] = (lines[0] as string).split(" ");
        return {
          uid: uid as string,
          gid: gid as string,
          groups: (lines[1] ?? "").replace(/^Groups:\s*/, ""),
          argv: lines.slice(2),
        };
      });
  const clearRecords = (): void => {
    for (const f of readdirSync(`${dir}/out`)) rmSync(`${dir}/out/${f}`);
  };

  beforeAll(() => {
    dir = mkdtempSync("/tmp/vigil-notify-");
    chmodSync(dir, 0o755);
    mkdirSync(`${dir}/bin`, { mode: 0o755 });
    mkdirSync(`${dir}/out`);
    chmodSync(`${dir}/out`, 0o777);
    mkdirSync(`${dir}/ww`);
    chmodSync(`${dir}/ww`, 0o777);
    const rec = `{ echo "$(id -u) $(id -g)"; grep '^Groups:' /proc/self/status; for a in "$0" "$@"; do echo "$a"; done; } > ${dir}/out/$$.tmp && mv ${dir}/out/$$.tmp ${dir}/out/$$.rec`;
    for (const n of ["m", "b", "all", "gm", "gall"]) script(`bin/${n}.sh`, rec);
    script("bin/sleep60.sh", `echo $$ > ${dir}/out/sleep.$$.pid\nexec sleep 60`);
    script("bin/noexec.sh", "exit 0", 0o644);
    script("ww/unsafe.sh", "exit 0");
    script("bin/fifo-reader.sh", `head -n 3 "$1" > ${dir}/out/fifo.txt`);
  });

  afterAll(() => {
    for (const r of runners) r.killAll("SIGKILL");
    for (const pid of started) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  const notifyConf = (globals: string): Config =>
    load(
      `global_defs {\n${globals}\n}\n` +
        `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n` +
        ` notify_master "${dir}/bin/m.sh 'first arg' x"\n notify_backup ${dir}/bin/b.sh nobody\n notify "${dir}/bin/all.sh pre"\n` +
        ` virtual_ipaddress {\n 198.18.0.1\n }\n}\n` +
        `vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n 198.18.0.2\n }\n}\n` +
        `vrrp_sync_group G1 {\n group {\n VI_1\n VI_2\n }\n notify_master ${dir}/bin/gm.sh\n notify ${dir}/bin/gall.sh\n}\n`,
    );

  it("instance and group notifies: argv, order and credentials", async () => {
    clearRecords();
    const { runner, argvs } = recordingRunner();
    const logs: string[] = [];
    const port = createNotifyPort({
      config: notifyConf(" script_user root"),
      runner,
      env: nodeScriptEnv(),
      log: (l) => logs.push(l),
    });
    await port.notify({ scope: "INSTANCE", name: "VI_1", state: "MASTER", priority: 150 });
    await port.notify({ scope: "GROUP", name: "G1", state: "MASTER", priority: 0 });
    expect(argvs).toEqual([
      [`${dir}/bin/m.sh`, "first arg", "x"],
      [`${dir}/bin/all.sh`, "pre", "INSTANCE", "VI_1", "MASTER", "150"],
      [`${dir}/bin/gm.sh`],
      [`${dir}/bin/gall.sh`, "GROUP", "G1", "MASTER", "0"],
    ]);
    const recs = await waitFor("4 notify records", () => (records().length === 4 ? records() : undefined));
    expect(recs.map((r) => r.argv).sort()).toEqual([...argvs].sort());
    for (const r of recs) expect([r.uid, r.gid, r.groups]).toEqual(["0", "0", ""]);
    expect(logs).toEqual([]);
  });

  it("runs as the per-script user nobody, with no supplementary groups", async () => {
    clearRecords();
    const { runner } = recordingRunner();
    const port = createNotifyPort({
      config: notifyConf(" script_user root"),
      runner,
      env: nodeScriptEnv(),
      log: () => {},
    });
    await port.notify({ scope: "INSTANCE", name: "VI_1", state: "BACKUP", priority: 90 });
    const recs = await waitFor("2 records", () => (records().length === 2 ? records() : undefined));
    const own = recs.find((r) => r.argv[0]?.endsWith("/b.sh"));
    expect(own).toEqual({ uid: "65534", gid: "65534", groups: "", argv: [`${dir}/bin/b.sh`] });
    expect(recs.find((r) => r.argv[0]?.endsWith("/all.sh"))?.argv).toEqual([
      `${dir}/bin/all.sh`,
      "pre",
      "INSTANCE",
      "VI_1",
      "BACKUP",
      "90",
    ]);
  });

  it("a script sleeping 60 s does not hold up the next notify", async () => {
    const { runner } = recordingRunner();
    const config = load(
      `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n notify_master ${dir}/bin/sleep60.sh root\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n`,
    );
    const port = createNotifyPort({ config, runner, env: nodeScriptEnv(), log: () => {} });
    const t0 = Date.now();
    await port.notify({ scope: "INSTANCE", name: "VI_1", state: "MASTER", priority: 100 });
    await port.notify({ scope: "INSTANCE", name: "VI_1", state: "MASTER", priority: 100 });
    expect(Date.now() - t0).toBeLessThan(1000);
    const pids = await waitFor("two sleeping scripts", () => {
      const p = readdirSync(`${dir}/out`).filter((f) => f.startsWith("sleep."));
      return p.length === 2 ? p : undefined;
    });
    expect(pids).toHaveLength(2);
    expect(runner.running).toBe(2);
    runner.killAll("SIGKILL");
    await waitFor("both killed", () => (runner.running === 0 ? true : undefined));
  });

  it("refuses missing, non-executable and unsafe scripts with keepalived's lines", async () => {
    const { runner, argvs } = recordingRunner();
    const config = load(
      `global_defs {\n enable_script_security\n script_user root\n}\n` +
        `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n notify_master ${dir}/bin/missing.sh\n` +
        ` notify_backup ${dir}/bin/noexec.sh\n notify_fault ${dir}/ww/unsafe.sh\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n`,
    );
    const logs: string[] = [];
    const port = createNotifyPort({ config, runner, env: nodeScriptEnv(), log: (l) => logs.push(l) });
    const fail = (state: "MASTER" | "BACKUP" | "FAULT") =>
      port.notify({ scope: "INSTANCE", name: "VI_1", state, priority: 100 }).then(
        () => null,
        (e: unknown) => (e instanceof EffectError ? [e.code, e.message] : e),
      );
    expect(await fail("MASTER")).toEqual([
      "ENOENT",
      `Script ${dir}/bin/missing.sh cannot be accessed - No such file or directory`,
    ]);
    expect(await fail("BACKUP")).toEqual([
      "EACCES",
      `WARNING - script '${dir}/bin/noexec.sh' is not executable for uid:gid 0:0 - disabling.`,
    ]);
    expect(await fail("FAULT")).toEqual([
      "UNSAFE",
      `Unsafe permissions found for script '${dir}/ww/unsafe.sh' - disabling.`,
    ]);
    expect(argvs).toEqual([]);
    expect(logs).toHaveLength(3);
  });

  it("FIFO: created, lines read by the FIFO script (path as last argument), removed at close", async () => {
    const fifoPath = `${dir}/out/notify.fifo`;
    const { runner, argvs } = recordingRunner();
    const logs: string[] = [];
    const config = load(
      `global_defs {\n script_user root\n vrrp_notify_fifo ${fifoPath}\n vrrp_notify_fifo_script ${dir}/bin/fifo-reader.sh\n}\n` +
        `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n`,
    );
    const port = createNotifyPort({ config, runner, env: nodeScriptEnv(), log: (l) => logs.push(l) });
    await port.open();
    expect(statSync(fifoPath).isFIFO()).toBe(true);
    expect(statSync(fifoPath).mode & 0o777).toBe(0o644);
    expect(argvs).toEqual([[`${dir}/bin/fifo-reader.sh`, fifoPath]]);
    await port.fifo('INSTANCE "VI_1" MASTER 150');
    await port.fifo('GROUP "G1" MASTER 0');
    await port.fifo('INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150');
    const text = await waitFor("fifo reader output", () => {
      const t = existsSync(`${dir}/out/fifo.txt`) ? readFileSync(`${dir}/out/fifo.txt`, "utf8") : "";
      return t.split("\n").length > 3 ? t : undefined;
    });
    expect(text).toBe(
      'INSTANCE "VI_1" MASTER 150\nGROUP "G1" MASTER 0\nINSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n',
    );
    await waitFor("fifo script exit logged", () =>
      logs.includes("vrrp notify fifo script terminated") ? true : undefined,
    );
    port.close();
    expect(existsSync(fifoPath)).toBe(false);
  });

  it("FIFO without a reader: writes never block, even past the pipe buffer", async () => {
    const fifoPath = `${dir}/out/noreader.fifo`;
    const { runner } = recordingRunner();
    const config = load(
      `global_defs {\n notify_fifo ${fifoPath}\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n`,
    );
    const port = createNotifyPort({ config, runner, env: nodeScriptEnv(), log: () => {} });
    const t0 = Date.now();
    for (let i = 0; i < 5000; i++) await port.fifo(`INSTANCE "VI_${i}" BACKUP 100`); // ~150 KB > 64 KiB pipe
    expect(Date.now() - t0).toBeLessThan(2000);
    port.close();
  });

  it("FIFO path that cannot be created: EffectError and keepalived's line", async () => {
    const { runner } = recordingRunner();
    const logs: string[] = [];
    const config = load(
      `global_defs {\n notify_fifo ${dir}/nodir/x.fifo\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n`,
    );
    const port = createNotifyPort({ config, runner, env: nodeScriptEnv(), log: (l) => logs.push(l) });
    await expect(port.fifo("x")).rejects.toMatchObject({ code: "ENOENT" });
    expect(logs).toEqual([`Unable to create notify fifo ${dir}/nodir/x.fifo`]);
  });
});

describe.skipIf(skipUnlessLab("host: process runner", { root: true }))("host: process runner", () => {
  const handles: RunHandle[] = [];
  const runner = createProcessRunner();
  afterAll(() => {
    for (const h of handles) h.kill("SIGKILL");
  });
  const sh = async (body: string, spec: Partial<Parameters<ProcessRunner["start"]>[0]> = {}) => {
    const h = await runner.start({
      argv: ["/bin/sh", "-c", body],
      uid: null,
      gid: null,
      timeoutMs: null,
      ...spec,
    });
    handles.push(h);
    return h;
  };

  it("reports an exec failure separately from an exit", async () => {
    await expect(
      runner.start({ argv: ["/nonexistent/x"], uid: null, gid: null, timeoutMs: null }),
    ).rejects.toMatchObject({
      code: "ENOENT",
    });
    const h = await sh("exit 3");
    expect(await h.exit).toMatchObject({ status: 3, signal: null, timedOut: false });
  });

  it("a timeout kills the whole process group (SIGTERM, then SIGKILL after the grace)", async () => {
    const h = await sh("trap '' TERM; sleep 300 & echo $!; sleep 300", {
      timeoutMs: 300,
      killGraceMs: 300,
      captureBytes: 64,
    });
    const exit = await h.exit;
    expect(exit).toMatchObject({ timedOut: true, status: null, signal: "SIGKILL" });
    const child = Number(exit.output.trim());
    expect(child).toBeGreaterThan(1);
    await waitFor("grandchild gone", () => (alive(child) ? undefined : true), 5000);
    expect(alive(h.pid)).toBe(false);
  });

  it("a script that forks and exits does not keep the runner busy", async () => {
    const h = await sh("sleep 300 & echo $!; exit 0", { captureBytes: 64 });
    const t0 = Date.now();
    const exit = await h.exit;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(exit).toMatchObject({ status: 0, timedOut: false });
    expect(runner.running).toBe(0);
    const child = Number(exit.output.trim());
    expect(alive(child)).toBe(true); // as keepalived: the orphan lives on, in the script's group
    h.kill("SIGKILL");
    await waitFor("orphan killed with its group", () => (alive(child) ? undefined : true), 5000);
  });

  it("50 MB of output is read and discarded: the capture stays at its limit", async () => {
    const before = process.memoryUsage();
    const h = await sh("head -c 50000000 /dev/zero", { captureBytes: 4096 });
    const exit = await h.exit;
    const after = process.memoryUsage();
    expect(exit.status).toBe(0);
    expect(exit.output.length).toBe(4096);
    expect(exit.discardedBytes).toBe(50_000_000 - 4096);
    expect(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers).toBeLessThan(
      20_000_000,
    );
  });
});
