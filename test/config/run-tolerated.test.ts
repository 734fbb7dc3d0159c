/**
 * `vigil run` on configurations with errors, as keepalived's daemon treats them (see
 * keepalived-fatal.test.ts for the classification against the real daemon): errors keepalived
 * reports and carries on after — an unknown track script, a VIP that does not parse, a priority out
 * of range, an unknown sync group member — are logged with keepalived's text and Vigil runs:
 * MASTER, the valid VIP added, the bad one not. `vigil check` still exits 1 on that file, like
 * `keepalived -t`, and says none of its errors is fatal. A fatal error (a keyword missing its
 * parameter) still stops `vigil run` with exit 1 before anything starts. Real namespace (lab h1),
 * skipUnlessLab. Not pure.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vigilBin } from "../netns/support/vigil.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, waitFor } from "../support/lab.ts";

const suite = "netns: vigil run starts despite errors keepalived tolerates";

describe.skipIf(skipUnlessLab(suite, { netns: true }))(suite, () => {
  let lab: Lab;
  let dir = "";
  let net = "";
  let tolerated = "";
  let fatal = "";

  const vigil = (label: string, args: readonly string[]): LabProcess =>
    lab.spawn(lab.host(1).ns, process.execPath, [vigilBin, ...args], { label });

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}tol`, hosts: 1 });
    net = `198.18.${lab.subnet}`;
    dir = lab.tempDir();
    tolerated = join(dir, "tolerated.conf");
    writeFileSync(
      tolerated,
      [
        "vrrp_instance VI_1 {",
        "    interface eth0",
        "    virtual_router_id 71",
        "    priority 400",
        "    advert_int 1",
        "    virtual_ipaddress {",
        `        ${net}.100/24`,
        `        ${net}.300/24`,
        "    }",
        "    track_script {",
        "        nosuch",
        "    }",
        "}",
        "vrrp_sync_group G {",
        "    group {",
        "        VI_1",
        "        VI_9",
        "    }",
        "}",
        "",
      ].join("\n"),
    );
    fatal = join(dir, "fatal.conf");
    writeFileSync(
      fatal,
      "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 72\n    priority\n    virtual_ipaddress {\n        198.18.0.1\n    }\n}\n",
    );
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("vigil check exits 1 on the tolerated file and says none of its errors is fatal", async () => {
    const check = vigil("vigil check", ["check", "-f", tolerated]);
    expect(await check.waitExit(20_000)).toBe(1);
    expect(check.stdout).toMatch(/error\(s\).*none fatal/);
  });

  it("vigil run logs keepalived's lines, starts, becomes MASTER and adds only the valid VIP", async () => {
    const run = vigil("vigil run (tolerated)", [
      "run",
      "-f",
      tolerated,
      "--journal",
      join(dir, "j1"),
      "--pid-file",
      join(dir, "p1.pid"),
    ]);
    try {
      await run.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
      const addrs = await waitFor("the VIP on h1", async () => {
        const a = await lab.ipv4Addresses(lab.host(1));
        return a.includes(`${net}.100`) ? a : undefined;
      });
      expect(addrs).not.toContain(`${net}.300`);
      expect(run.output).toContain("(VI_1) track script nosuch not found, ignoring...");
      expect(run.output).toContain(`VRRP parsed invalid IP ${net}.300/24. skipping IP...`);
      expect(run.output).toContain("(VI_1) Priority not valid! must be between 1 & 255. Using default 100");
      expect(run.output).toContain("Virtual router VI_9 specified in sync group G doesn't exist - ignoring");
      expect(run.output).toMatch(/error\(s\) that keepalived also runs with - starting/);
    } finally {
      dumpForInspection("run-tolerated", run.output);
      await run.stop("SIGTERM", 15_000);
    }
    expect(run.code).toBe(0);
  }, 60_000);

  it("vigil run still refuses a fatal error: exit 1, nothing started, no pid file", async () => {
    const pidFile = join(dir, "p2.pid");
    const run = vigil("vigil run (fatal)", [
      "run",
      "-f",
      fatal,
      "--journal",
      join(dir, "j2"),
      "--pid-file",
      pidFile,
    ]);
    expect(await run.waitExit(20_000)).toBe(1);
    expect(run.output).toContain("is missing a parameter after keyword `priority` at word position 2");
    expect(run.output).toMatch(/error\(s\) in the configuration - not starting/);
    expect(run.output).not.toContain("Starting Vigil");
    expect(existsSync(pidFile)).toBe(false);
  }, 30_000);
});
