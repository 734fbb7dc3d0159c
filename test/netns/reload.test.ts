/**
 * SIGHUP reload of `vigil run` beside real keepalived 2.2.7, in lab namespaces: Vigil in h1 is MASTER
 * (priority 200) of VRIDs 71, 72 and 73; keepalived in h2 is BACKUP (priority 100) of all three.
 * The reloaded file leaves VRID 71 (VI_A) as it was, removes VRID 72 (VI_B) and gives VRID 73 (VI_C)
 * a new priority (150, still above keepalived's) and a new address (`virtual_ipaddress_excluded`, so
 * the adverts keepalived checks are unchanged). Then: the new address is on h1, VI_B's address is gone
 * from h1 and keepalived takes VRID 72 over, VRID 71 never flaps (no transition in either log, no
 * priority-0 advert on the wire), VRID 73 is advertised at 150. A second SIGHUP with a broken file
 * is refused with its diagnostics, the daemon keeps running with its state unchanged; the journal
 * replays with `vigil replay --verify`.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess, run, waitFor } from "../support/lab.ts";
import { parseTcpdumpVrrp } from "./support/differential.ts";
import { vigilBin } from "./support/vigil.ts";

const suite = "netns: vigil run SIGHUP reload beside keepalived";

const instance = (
  name: string,
  vrid: number,
  priority: number,
  vips: string[],
  excluded: string[] = [],
  extra: string[] = [],
) => [
  `vrrp_instance ${name} {`,
  "    state BACKUP",
  "    interface eth0",
  `    virtual_router_id ${vrid}`,
  `    priority ${priority}`,
  "    advert_int 1",
  `    virtual_ipaddress { ${vips.join(" ")} }`,
  ...(excluded.length > 0 ? [`    virtual_ipaddress_excluded { ${excluded.join(" ")} }`] : []),
  ...extra.map((l) => `    ${l}`),
  "}",
];

describe.skipIf(skipUnlessLab(suite, { netns: true, tcpdump: true, keepalived: true }))(suite, () => {
  let lab: Lab;
  let net = "";
  let dir = "";
  let h1Ip = "";
  let vigil: LabProcess;
  let ka: LabProcess;
  let wire: LabProcess;
  let reloadAtUs = 0;
  let brokenAtUs = 0;
  let termAtUs = 0;
  let h1AfterReload = "";
  let h2AfterReload = "";
  let h1AfterBroken = "";
  let stillRunning = false;
  let vigilLogBeforeBroken = "";
  let kaLogBeforeReload = "";
  /** keepalived's log from the reload to Vigil's SIGTERM: the reloads' doing, not the shutdown's takeover. */
  let kaLogOfReloads = "";
  let markers = { removedFault: "", addedMaster: "" };
  let removedFaultRan = false;
  let addedMasterRan = false;

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}rl`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    net = `198.18.${lab.subnet}`;
    h1Ip = h1.ipv4;
    dir = lab.tempDir();
    const conf = join(dir, "keepalived.conf");
    const removedFault = join(dir, "vi-b-fault");
    const addedMaster = join(dir, "vi-d-master");
    markers = { removedFault, addedMaster };
    const v1 = [
      ...instance("VI_A", 71, 200, [`${net}.101/24`]),
      ...instance("VI_B", 72, 200, [`${net}.102/24`], [], [`notify_fault "/bin/touch ${removedFault}"`]),
      ...instance("VI_C", 73, 200, [`${net}.103/24`]),
      "",
    ].join("\n");
    const v2 = [
      ...instance("VI_A", 71, 200, [`${net}.101/24`]),
      ...instance("VI_C", 73, 150, [`${net}.103/24`], [`${net}.104/24`]),
      ...instance("VI_D", 74, 200, [`${net}.105/24`], [], [`notify_master "/bin/touch ${addedMaster}"`]),
      "",
    ].join("\n");
    writeFileSync(conf, v1);
    wire = await lab.tcpdump(h2, ["-tt"]);
    ka = lab.keepalived(
      h2,
      [
        ...instance("KA_A", 71, 100, [`${net}.101/24`]),
        ...instance("KA_B", 72, 100, [`${net}.102/24`]),
        ...instance("KA_C", 73, 100, [`${net}.103/24`]),
        "",
      ].join("\n"),
    ).proc;
    await ka.waitForOutput(/\(KA_C\) Entering BACKUP STATE/, 15_000);
    vigil = lab.spawn(
      h1.ns,
      process.execPath,
      [vigilBin, "run", "-f", conf, "--journal", join(dir, "journal"), "--pid-file", join(dir, "v.pid")],
      { label: "vigil run" },
    );
    for (const n of ["VI_A", "VI_B", "VI_C"])
      await vigil.waitForOutput(new RegExp(`\\(${n}\\) Entering MASTER STATE`), 20_000);
    await new Promise((r) => setTimeout(r, 1500));

    writeFileSync(conf, v2);
    kaLogBeforeReload = ka.output;
    reloadAtUs = Date.now() * 1000;
    process.kill(vigil.pid ?? 0, "SIGHUP");
    await vigil.waitForOutput(/Reload complete/, 10_000);
    await ka.waitForOutput(/\(KA_B\) Entering MASTER STATE/, 10_000);
    h1AfterReload = await waitFor("the new VIP on h1", async () => {
      const a = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
      return a.includes(`${net}.104/24`) ? a : undefined;
    });
    h2AfterReload = await waitFor("VI_B's VIP on h2", async () => {
      const a = await lab.nsRun(h2.ns, "ip", ["addr", "show", "dev", "eth0"]);
      return a.includes(`${net}.102/24`) ? a : undefined;
    });
    await vigil.waitForOutput(/\(VI_D\) Entering MASTER STATE/, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    removedFaultRan = existsSync(markers.removedFault);
    addedMasterRan = existsSync(markers.addedMaster);

    vigilLogBeforeBroken = vigil.stderr;
    writeFileSync(conf, `${v2}vrrp_instance BROKEN {\n    virtual_router_id 300\n`);
    brokenAtUs = Date.now() * 1000;
    process.kill(vigil.pid ?? 0, "SIGHUP");
    await vigil.waitForOutput(/Reload refused:/, 10_000);
    await new Promise((r) => setTimeout(r, 2500));
    stillRunning = vigil.running;
    h1AfterBroken = await lab.nsRun(h1.ns, "ip", ["addr", "show", "dev", "eth0"]);
    kaLogOfReloads = ka.output.slice(kaLogBeforeReload.length);
    termAtUs = Date.now() * 1000;
    await vigil.stop("SIGTERM", 15_000);
  }, 150_000);

  afterAll(async () => {
    if (vigil !== undefined) dumpForInspection("reload vigil", vigil.output);
    if (ka !== undefined) dumpForInspection("reload keepalived", ka.output);
    await lab?.destroy();
  });

  it("the kept instance's new VIP is added, the removed instance's VIP is gone and keepalived takes that VRID", () => {
    expect(vigil.stderr).toContain("Reloading");
    expect(h1AfterReload).toContain(`inet ${net}.101/24`);
    expect(h1AfterReload).toContain(`inet ${net}.103/24`);
    expect(h1AfterReload).toContain(`inet ${net}.104/24`);
    expect(h1AfterReload).not.toContain(`${net}.102/`);
    expect(h2AfterReload).toContain(`inet ${net}.102/24`);
  });

  it("the removed instance's notify_fault ran; the new instance started, became MASTER and ran notify_master", () => {
    expect(removedFaultRan).toBe(true);
    expect(addedMasterRan).toBe(true);
    expect(vigil.stderr).toMatch(/\(VI_D\) Entering BACKUP STATE \(init\)/);
    expect(h1AfterBroken).toContain(`inet ${net}.105/24`);
  });

  it("the unchanged instance never flaps: no transition in either log, no priority 0 on the wire", () => {
    // keepalived started first (MASTER alone, then BACKUP under Vigil's 200): nothing after that.
    expect(kaLogOfReloads).not.toMatch(/\(KA_A\) Entering/);
    expect(vigil.stderr.match(/\(VI_A\) Entering /g)).toHaveLength(2); // BACKUP (init), then MASTER
    const a = parseTcpdumpVrrp(wire.stdout).filter(
      (p) => p.src === h1Ip && p.vrid === 71 && p.atUs < termAtUs,
    );
    expect(a.filter((p) => p.atUs > reloadAtUs).length).toBeGreaterThan(3);
    expect(a.every((p) => p.prio === 200)).toBe(true);
  });

  it("the removed MASTER sends priority 0; the kept one advertises its new priority", () => {
    const after = parseTcpdumpVrrp(wire.stdout).filter(
      (p) => p.src === h1Ip && p.atUs > reloadAtUs && p.atUs < termAtUs,
    );
    expect(after.filter((p) => p.vrid === 72).map((p) => p.prio)).toEqual([0]);
    const c = after.filter((p) => p.vrid === 73);
    expect(c.length).toBeGreaterThan(3);
    expect(c.every((p) => p.prio === 150)).toBe(true);
    expect(kaLogOfReloads).not.toMatch(/\(KA_C\) Entering/);
    expect(kaLogOfReloads).toMatch(/\(KA_B\) Backup received priority 0 advertisement/);
  });

  it("a broken file is refused with its diagnostics; the daemon keeps running, its state unchanged", () => {
    const tail = vigil.stderr.slice(vigilLogBeforeBroken.length);
    expect(tail).toMatch(
      /Reload refused: .*keepalived\.conf: \d+ error\(s\) in the configuration - keeping the running configuration/,
    );
    expect(tail).toMatch(/error/i);
    expect(tail).not.toMatch(/Entering|Reloading/);
    expect(stillRunning).toBe(true);
    expect(h1AfterBroken).toContain(`inet ${net}.104/24`);
    expect(h1AfterBroken).not.toContain(`${net}.102/`);
    const after = parseTcpdumpVrrp(wire.stdout).filter((p) => p.src === h1Ip && p.atUs > brokenAtUs);
    expect(after.some((p) => p.vrid === 73 && p.prio === 150)).toBe(true);
    expect(vigil.code).toBe(0);
  });

  it("the journal with the reload replays with vigil replay --verify", async () => {
    const segment = join(dir, "journal", "journal.000001.jsonl");
    expect(existsSync(segment)).toBe(true);
    const r = await run(process.execPath, [vigilBin, "replay", "--verify", segment], 60_000);
    expect(r.stderr).toContain("verify ok");
    expect(r.code).toBe(0);
  });
});
