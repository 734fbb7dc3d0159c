/**
 * `vigil run` as an operator starts it, in lab namespace h1 (`node bin/vigil.js run -f CONF
 * --journal DIR --pid-file FILE`): it writes its pid file, becomes MASTER and adds its VIP; a
 * second `vigil run` on the same pid file is refused naming the first one's pid; SIGHUP reloads the
 * unchanged file without a transition and keeps running (test/netns/reload.test.ts has the rest); SIGTERM sends a priority-0 advert (tcpdump in h2),
 * removes the VIP, logs `Stopped`, exits 0 and removes the pid file; the journal segment replays
 * with `vigil replay --verify`. Then `--dry-run --log-format json`: MASTER with no VIP added, the
 * commands logged as `[dry-run] …` pino records (level, time, pid, hostname, detail, msg; the last
 * one `Stopped` after SIGTERM), adverts still on the wire.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, run, waitFor } from "../support/lab.ts";
import { parseTcpdumpVrrp } from "./support/differential.ts";
import { vigilBin } from "./support/vigil.ts";

const suite = "netns: vigil run (pid file, signals, journal, dry run)";

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true }))(suite, () => {
  let lab: Lab;
  let net = "";
  let dir = "";
  let h1Ip = "";
  let vigil: LabProcess;
  let second: LabProcess;
  let dry: LabProcess;
  let wire: LabProcess;
  let pidFile = "";
  let pidWhileRunning = "";
  let addrMaster = "";
  let addrAfter = "";
  let addrDry = "";
  let termAtUs = 0;
  let dryTermAtUs = 0;
  let stillRunningAfterHup = false;
  let dryPidFileGone = false;
  let marker = "";
  let markerAfterLive = false;
  let markerAfterDry = true;

  const vigilRun = (label: string, args: readonly string[]): LabProcess =>
    lab.spawn(lab.host(1).ns, process.execPath, [vigilBin, "run", ...args], { label });

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}rn`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    net = `198.18.${lab.subnet}`;
    h1Ip = h1.ipv4;
    dir = lab.tempDir();
    const conf = join(dir, "keepalived.conf");
    marker = join(dir, "notify-master-ran");
    writeFileSync(
      conf,
      [
        "vrrp_instance VI_1 {",
        "    state MASTER",
        "    interface eth0",
        "    virtual_router_id 61",
        "    priority 100",
        "    advert_int 1",
        `    virtual_ipaddress { ${net}.100/24 }`,
        `    notify_master "/bin/touch ${marker}"`,
        "}",
        "",
      ].join("\n"),
    );
    pidFile = join(dir, "vigil.pid");
    wire = await lab.tcpdump(h2, ["-tt"]);

    vigil = vigilRun("vigil run", ["-f", conf, "--journal", join(dir, "journal"), "--pid-file", pidFile]);
    await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
    pidWhileRunning = readFileSync(pidFile, "utf8");
    addrMaster = await waitFor("the VIP on h1", async () => {
      const a = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
      return a.includes(`${net}.100/24`) ? a : undefined;
    });

    second = vigilRun("second vigil run", ["-f", conf, "--journal", join(dir, "j2"), "--pid-file", pidFile]);
    await second.waitExit(30_000);

    process.kill(vigil.pid ?? 0, "SIGHUP");
    await vigil.waitForOutput(/Reload complete/, 5_000);
    await new Promise((r) => setTimeout(r, 1500));
    stillRunningAfterHup = vigil.running;

    termAtUs = Date.now() * 1000;
    await vigil.stop("SIGTERM", 15_000);
    addrAfter = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);

    markerAfterLive = existsSync(marker);
    rmSync(marker, { force: true });
    const dryPid = join(dir, "dry.pid");
    dry = vigilRun("vigil run --dry-run", [
      conf,
      "--journal",
      join(dir, "dry-journal"),
      "--pid-file",
      dryPid,
      "--dry-run",
      "--log-format",
      "json",
    ]);
    await dry.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await dry.waitForOutput(/\[dry-run\] GARP on eth0/, 5_000);
    await new Promise((r) => setTimeout(r, 1500));
    addrDry = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
    dryTermAtUs = Date.now() * 1000;
    await dry.stop("SIGTERM", 15_000);
    dryPidFileGone = !existsSync(dryPid);
    markerAfterDry = existsSync(marker);
    await new Promise((r) => setTimeout(r, 300));
  }, 120_000);

  afterAll(async () => {
    if (vigil !== undefined) dumpForInspection("run vigil", vigil.output);
    if (dry !== undefined) dumpForInspection("run vigil dry", dry.output);
    await lab?.destroy();
  });

  it("writes its pid file, becomes MASTER and adds the VIP", () => {
    expect(pidWhileRunning).toBe(`${vigil.pid}\n`);
    expect(addrMaster).toContain(`inet ${net}.100/24`);
    expect(markerAfterLive).toBe(true); // notify_master ran
    // keepalived's console form: `Sun Nov 30 00:12:03 2026: (VI_1) Entering MASTER STATE`.
    expect(vigil.stderr).toMatch(
      /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: \(VI_1\) Entering MASTER STATE$/m,
    );
    expect(statSync(join(dir, "journal")).mode & 0o777).toBe(0o700);
  });

  it("refuses a second daemon on the same pid file, naming the first one's pid", () => {
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another Vigil is running with pid ${vigil.pid} (pid file ${pidFile})`);
    expect(second.stderr).not.toContain("Starting Vigil");
  });

  it("SIGHUP: reloads the unchanged file, stays MASTER without a transition, keeps running", () => {
    expect(stillRunningAfterHup).toBe(true);
    const from = vigil.stderr.indexOf("Reloading");
    const reload = vigil.stderr.slice(from, vigil.stderr.indexOf("Received SIGTERM"));
    expect(from).toBeGreaterThan(0);
    expect(reload).toMatch(/: Reload complete$/m);
    expect(reload).not.toMatch(/Entering|removing VIPs|sent 0 priority/);
  });

  it("SIGTERM: priority 0 on the wire, VIP removed, Stopped, exit 0, pid file gone", () => {
    const after = parseTcpdumpVrrp(wire.stdout).filter((p) => p.src === h1Ip && p.atUs > termAtUs);
    expect(after[0]?.prio).toBe(0);
    expect(addrAfter).not.toContain(`${net}.100/`);
    expect(vigil.stderr).toMatch(/: Stopped$/m);
    expect(vigil.code).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });

  it("its journal segment replays with vigil replay --verify", async () => {
    const segment = join(dir, "journal", "journal.000001.jsonl");
    expect(existsSync(segment)).toBe(true);
    const r = await run(process.execPath, [vigilBin, "replay", "--verify", segment], 60_000);
    expect(r.stderr).toContain("verify ok");
    expect(r.code).toBe(0);
  });

  it("--dry-run: MASTER without touching the host, commands logged as JSON lines, adverts sent", () => {
    const lines = dry.stderr
      .split("\n")
      .filter((l) => l !== "")
      .map(
        (l) =>
          JSON.parse(l) as {
            level: number;
            time: string;
            pid: number;
            hostname: string;
            msg: string;
            detail: boolean;
          },
      );
    const msgs = lines.map((l) => l.msg);
    // pino records: a level, the daemon's time, its pid and host, keepalived's detail flag
    for (const l of lines) {
      expect([20, 30, 40, 50]).toContain(l.level);
      expect(Number.isNaN(Date.parse(l.time))).toBe(false);
      expect(l.pid).toBe(dry.pid);
      expect(typeof l.hostname).toBe("string");
      expect(typeof l.detail).toBe("boolean");
      expect(l.level === 20).toBe(l.detail);
    }
    // the shutdown's last lines are written before the process exits
    expect(msgs.slice(-1)).toEqual(["Stopped"]);
    expect(msgs).toContain("Received SIGTERM, stopping");
    expect(msgs).toContain("(VI_1) Entering MASTER STATE");
    expect(msgs).toContain(`[dry-run] add ${net}.100/24 dev eth0`);
    expect(msgs).toContain(`[dry-run] del ${net}.100/24 dev eth0`);
    expect(msgs).toContain(`[dry-run] notify_master: /bin/touch ${marker}`);
    expect(markerAfterDry).toBe(false); // and did not run
    expect(addrDry).not.toContain(`${net}.100/`);
    const adverts = parseTcpdumpVrrp(wire.stdout).filter((p) => p.src === h1Ip && p.atUs < dryTermAtUs);
    expect(adverts.filter((p) => p.atUs > termAtUs && p.prio === 100).length).toBeGreaterThanOrEqual(1);
    expect(dry.code).toBe(0);
    expect(dryPidFileGone).toBe(true);
  });
});
