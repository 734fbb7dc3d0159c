/**
 * One Vigil node on a real host, driven by real sockets and the production effect actors
 * (src/daemon/live-node.ts): in lab namespace h1 it starts from a keepalived.conf, removes a stale
 * VIP left from a "crash", becomes MASTER and adds its VIPs (with options) and excluded VIP over
 * rtnetlink, GARPs / NAs them (tcpdump in h2 counts the bursts), runs notify scripts and writes the
 * FIFO; a notify_master script that sleeps 60 s does not delay its adverts; an unsafe notify_backup
 * script is refused and a VIP on a missing interface is refused by the kernel — both logged and
 * journaled while the node keeps advertising. Real keepalived at priority 200 in h2 then takes
 * over: the VIPs go. SIGTERM stops it cleanly (STOP notify), and its journal replays with
 * `vigil replay --verify`.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, mustRun, run, waitFor } from "../support/lab.ts";
import { parseTcpdumpVrrp, type WirePacket } from "./support/differential.ts";
import { startScript, vigilBin } from "./support/vigil.ts";

const suite = "netns: a live node with real effect actors (VIPs, GARP/NA, notify, FIFO)";

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  let net = "";
  let dir = "";
  let vigil: LabProcess;
  let wire: LabProcess;
  let arps: LabProcess;
  let fifoReader: LabProcess;
  let h1Ip = "";
  let h1Mac = "";
  let masterAtUs = 0;
  let addrMaster = "";
  let addrBefore = "";
  let addrAfterTakeover = "";
  let addrReadded = "";
  let deletedAtUs = 0;
  let exitCode: number | null | undefined;
  const vip6 = "2001:db8:51::1";

  const logLines = (): string[] => vigil.stdout.split("\n").filter((l) => l !== "");
  const notifyLog = (): string[] =>
    existsSync(join(dir, "notify.log"))
      ? readFileSync(join(dir, "notify.log"), "utf8")
          .split("\n")
          .filter((l) => l !== "")
      : [];
  const h1Adverts = (): WirePacket[] => parseTcpdumpVrrp(wire.stdout).filter((p) => p.src === h1Ip);

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}ln`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    net = `198.18.${lab.subnet}`;
    h1Ip = h1.ipv4;
    h1Mac = (await lab.nsRun(h1.ns, "cat", ["/sys/class/net/eth0/address"])).trim();
    dir = lab.tempDir();
    chmodSync(dir, 0o755);
    const unsafeDir = join(dir, "unsafe");
    mkdirSync(unsafeDir);
    chmodSync(unsafeDir, 0o777);
    writeFileSync(join(dir, "notify.sh"), `#!/bin/sh\necho "$@" >> ${dir}/notify.log\n`, { mode: 0o755 });
    writeFileSync(join(dir, "slow.sh"), "#!/bin/sh\nsleep 60\n", { mode: 0o755 });
    writeFileSync(join(unsafeDir, "backup.sh"), "#!/bin/sh\ntrue\n", { mode: 0o755 });
    await mustRun("mkfifo", ["-m", "0600", join(dir, "vrrp.fifo")]);
    const conf = [
      "global_defs {",
      `    vrrp_notify_fifo ${dir}/vrrp.fifo`,
      "    enable_script_security",
      "    script_user root",
      "    vrrp_garp_master_delay 1",
      "    vrrp_garp_master_repeat 2",
      "}",
      "vrrp_instance VI_1 {",
      "    state BACKUP",
      "    interface eth0",
      "    virtual_router_id 51",
      "    priority 100",
      "    advert_int 1",
      "    virtual_ipaddress {",
      `        ${net}.100/24 label eth0:vip`,
      `        ${net}.101/24 brd + scope global`,
      `        ${net}.102/24 dev vgmissing0`,
      "    }",
      "    virtual_ipaddress_excluded {",
      `        ${vip6}/64`,
      "    }",
      `    notify ${dir}/notify.sh`,
      `    notify_master ${dir}/slow.sh`,
      `    notify_backup ${unsafeDir}/backup.sh`,
      "}",
      "",
    ].join("\n");
    writeFileSync(join(dir, "keepalived.conf"), conf);

    // A VIP left behind by a crashed run: Vigil removes it at start, before it can be MASTER.
    await lab.nsRun(h1.ns, "ip", ["addr", "add", `${net}.100/24`, "dev", "eth0"]);
    wire = await lab.tcpdump(h2, ["-tt"]);
    arps = await lab.tcpdump(h2, ["-tt", "-e"], "arp or (icmp6 and ip6[40] == 136)");
    fifoReader = lab.spawn(h1.ns, "cat", [join(dir, "vrrp.fifo")], { label: "fifo reader" });

    const startedUs = Date.now() * 1000;
    vigil = startScript(lab, h1.ns, "live-node.ts", [
      join(dir, "keepalived.conf"),
      join(dir, "journal.jsonl"),
    ]);
    await vigil.waitForOutput(/^ready$/m, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    addrBefore = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
    await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 10_000);
    masterAtUs = Number(
      logLines()
        .find((l) => l.includes("Entering MASTER STATE"))
        ?.split(" ")[0],
    );
    expect(masterAtUs).toBeGreaterThan(startedUs);
    // Both GARP bursts (garp_master_delay 1 s) and a few adverts as MASTER while slow.sh sleeps.
    await new Promise((r) => setTimeout(r, 3500));
    addrMaster = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);

    // Someone else deletes a VIP of the MASTER: keepalived 2.2.7 (measured in a namespace) sends
    // priority 0, enters BACKUP, removes its VIPs and takes over again one skew time later.
    deletedAtUs = Date.now() * 1000;
    await lab.nsRun(h1.ns, "ip", ["addr", "del", `${net}.101/24`, "dev", "eth0"]);
    await vigil.waitForOutput(
      new RegExp(`Netlink reflector reports IP ${net}\\.101 removed from eth0`),
      5_000,
    );
    addrReadded = await waitFor("the VIPs back", async () => {
      const a = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
      return a.includes(`${net}.101/24`) && a.includes(`${net}.100/24`) ? a : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));

    lab.keepalived(
      h2,
      [
        "vrrp_instance VI_1 {",
        "    state BACKUP",
        "    interface eth0",
        "    virtual_router_id 51",
        "    priority 200",
        "    advert_int 1",
        `    virtual_ipaddress { ${net}.100/24\n ${net}.101/24\n ${net}.102/24 }`,
        "}",
        "",
      ].join("\n"),
    );
    await vigil.waitForOutput(/\(VI_1\) Entering BACKUP STATE(?! \(init\))/, 15_000);
    // Each address is its own netlink request (keepalived's too): wait for all of them, not the first.
    await waitFor("VIPs removed", async () => {
      const a = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
      return [`${net}.100/`, `${net}.101/`, vip6].some((v) => a.includes(v)) ? undefined : a;
    });
    addrAfterTakeover = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
    await vigil.stop("SIGTERM", 10_000);
    exitCode = vigil.code;
    // The STOP notify is fire and forget (as keepalived's): its script may write after the daemon
    // exited. Give it the second keepalived gives it before the log is read.
    for (let t = 0; t < 40 && !notifyLog().some((l) => l.includes(" STOP ")); t++)
      await new Promise((r) => setTimeout(r, 25));
  }, 90_000);

  afterAll(async () => {
    if (vigil !== undefined) dumpForInspection("live-node vigil", vigil.output);
    if (arps !== undefined) dumpForInspection("live-node arp capture", arps.stdout);
    await lab?.destroy();
  });

  it("removes a stale VIP at start, before it is MASTER", () => {
    expect(addrBefore).not.toContain(`${net}.100/24`);
    expect(logLines().some((l) => l.includes("(VI_1) Entering BACKUP STATE (init)"))).toBe(true);
  });

  it("adds the VIPs with their options and the excluded VIP when MASTER", () => {
    expect(addrMaster).toMatch(new RegExp(`inet ${net}\\.100/24 .*scope global secondary eth0:vip`));
    expect(addrMaster).toMatch(
      new RegExp(`inet ${net}\\.101/24 brd ${net}\\.255 scope global secondary eth0`),
    );
    expect(addrMaster).toContain(`inet6 ${vip6}/64 scope global`);
    expect(addrMaster).not.toContain(`${net}.102`);
  });

  it("logs and journals a VIP the kernel refuses, and keeps advertising", () => {
    expect(logLines().some((l) => l.includes(`${net}.102`) && /ENODEV|No such device/.test(l))).toBe(true);
    // The journal is rotated (16 MiB segments): this short run is its first segment.
    const journal = readFileSync(join(dir, "journal.000001.jsonl"), "utf8");
    expect(journal).toMatch(/"kind":"effect"[^\n]*"ok":false[^\n]*"code":"ENODEV"/);
    // Adverts as MASTER kept their 1 s interval while slow.sh (notify_master) slept. The gap that
    // holds the priority-0 advert is the BACKUP interlude of the VIP deletion below (checked there):
    // its length depends on when the test's `ip addr del` lands between two adverts.
    const wireAdverts = h1Adverts().filter((p) => p.atUs > masterAtUs);
    const zeroAtUs = wireAdverts.find((p) => p.prio === 0)?.atUs ?? Number.POSITIVE_INFINITY;
    const adverts = wireAdverts.filter((p) => p.prio === 100);
    expect(adverts.length).toBeGreaterThanOrEqual(4);
    // every advert's time from the first MASTER, for a failure to say which gap it was
    const timeline = wireAdverts
      .map((p) => `${p.prio}@${((p.atUs - masterAtUs) / 1e6).toFixed(3)}`)
      .join(" ");
    let gaps = 0;
    for (let i = 1; i < adverts.length; i++) {
      const [from, to] = [adverts[i - 1]?.atUs ?? 0, adverts[i]?.atUs ?? 0];
      if (from < zeroAtUs && zeroAtUs < to) continue;
      expect(to - from, `gap ${i} of adverts (priority@s) ${timeline}`).toBeLessThan(1_300_000);
      gaps++;
    }
    expect(gaps).toBeGreaterThanOrEqual(3);
  });

  it("sends both GARP / NA bursts for every address", () => {
    // Only h1's frames of its first takeover (it takes over again after the VIP deletion, and
    // keepalived in h2 GARPs the same addresses when it takes over).
    const lines = arps.stdout
      .split("\n")
      .filter((l) => l.includes(` ${h1Mac} > `) && Number(l.split(" ")[0]) * 1e6 < deletedAtUs);
    for (const a of [`${net}.100`, `${net}.101`]) {
      const garp = new RegExp(
        `Request who-has ${a.replace(/\./g, "\\.")} (\\([0-9a-f:]+\\) )?tell ${a.replace(/\./g, "\\.")},`,
      );
      const n = lines.filter((l) => garp.test(l)).length;
      expect(n, a).toBe(4); // 2 per burst (garp_master_repeat 2), 2 bursts (garp_master_delay 1)
    }
    const na = lines.filter((l) => l.includes(`neighbor advertisement, tgt is ${vip6}`)).length;
    expect(na).toBe(4);
  });

  it("runs notify scripts in keepalived's order and writes the FIFO", () => {
    const states = ["BACKUP", "MASTER", "BACKUP", "MASTER", "BACKUP", "STOP"];
    expect(notifyLog()).toEqual(states.map((st) => `INSTANCE VI_1 ${st} 100`));
    expect(fifoReader.stdout.split("\n").filter((l) => l !== "")).toEqual(
      states.map((st) => `INSTANCE "VI_1" ${st} 100`),
    );
    expect(
      logLines().some((l) => l.includes("Unsafe permissions found for script") && l.includes("backup.sh")),
    ).toBe(true);
  });

  it("a VIP deleted by someone else: priority 0, BACKUP, and MASTER again one skew time later", () => {
    const after = h1Adverts().filter((p) => p.atUs > deletedAtUs);
    expect(after[0]?.prio).toBe(0);
    expect(after[1]?.prio).toBe(100);
    const gapUs = (after[1]?.atUs ?? 0) - (after[0]?.atUs ?? 0);
    // skew time at priority 100: (256 − 100) / 256 s = 609,375 µs
    expect(gapUs).toBeGreaterThan(500_000);
    expect(gapUs).toBeLessThan(800_000);
    expect(addrReadded).toContain(`${net}.100/24`);
  });

  it("gives the VIPs up to a higher-priority keepalived and stops cleanly", () => {
    expect(addrAfterTakeover).not.toContain(`${net}.100/`);
    expect(addrAfterTakeover).not.toContain(`${net}.101/`);
    expect(addrAfterTakeover).not.toContain(vip6);
    expect(exitCode).toBe(0);
    expect(vigil.stdout).toMatch(/^stopped$/m);
  });

  it("journal replays with vigil replay --verify", async () => {
    expect(existsSync(join(dir, "journal.jsonl"))).toBe(false);
    const r = await run(
      process.execPath,
      [vigilBin, "replay", "--verify", join(dir, "journal.000001.jsonl")],
      60_000,
    );
    expect(r.stderr).toContain("verify ok");
    expect(r.code).toBe(0);
  });
});
