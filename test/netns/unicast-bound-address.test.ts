/**
 * A unicast instance hears only adverts addressed to its own source address, as keepalived 2.2.7
 * does (its socket is bound to unicast_src_ip: vrrp.c open_vrrp_read_socket). A keepalived MASTER
 * (200) sends its adverts to a SECONDARY address of each backup's interface: keepalived (100) and
 * Vigil (100), each with unicast_src_ip its primary address, never hear them and both become MASTER
 * one Master_Down interval after start, although the adverts are on their wire (tcpdump). Control:
 * restarted with unicast_src_ip the secondary address, both hear the adverts and stay BACKUP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { Lab, type LabProcess } from "../support/lab.ts";
import { configText, instanceBlock, sleepMs, startVigil, type VigilRun } from "./support/mixed-cluster.ts";
import { entering } from "./support/mixed-cluster-suite.ts";

const suite = "netns: a unicast instance hears only its own address (keepalived 2.2.7 and Vigil)";

interface Phase {
  keepalived: string;
  vigil: string;
  wire: string;
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true, tcpdump: true }))(suite, () => {
  let lab: Lab | undefined;
  const phases: Phase[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}ub`, hosts: 3 });
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const net = `198.18.${lab.subnet}`;
    const secondary = { k: `${net}.52`, v: `${net}.53` };
    await lab.nsRun(h2.ns, "ip", ["addr", "add", `${secondary.k}/24`, "dev", "eth0"]);
    await lab.nsRun(h3.ns, "ip", ["addr", "add", `${secondary.v}/24`, "dev", "eth0"]);
    const conf = (id: string, prio: number, src: string, peers: string[]): string =>
      configText(
        id,
        instanceBlock({
          vrid: 71,
          prio,
          advertInt: "1",
          vips: [`${net}.171/24`],
          unicast: { src, peers },
        }),
      );
    const master = lab.keepalived(h1, conf("ub-200", 200, h1.ipv4, [secondary.k, secondary.v]), "ka-200");
    await master.proc.waitForOutput(entering("VI_1", "MASTER"), 15_000);
    for (const [srcK, srcV] of [
      [h2.ipv4, h3.ipv4],
      [secondary.k, secondary.v],
    ] as const) {
      const wire = await lab.tcpdump(h3, ["-tt"]);
      const k = lab.keepalived(h2, conf("ub-k", 100, srcK, [h1.ipv4]), `ka-100 src ${srcK}`);
      let v: VigilRun | undefined;
      let vp: LabProcess | undefined;
      try {
        v = startVigil(lab, h3, conf("ub-v", 100, srcV, [h1.ipv4]), `vigil-100 src ${srcV}`);
        vp = v.proc;
        await vp.waitForOutput(entering("VI_1", "BACKUP"), 30_000);
        // Master_Down_Interval at priority 100 is 3.61 s: wait well past it.
        await sleepMs(6_000);
      } finally {
        await vp?.stop("SIGTERM", 10_000);
        await k.proc.stop("SIGTERM", 10_000);
        await wire.stop("SIGTERM");
      }
      phases.push({ keepalived: k.proc.output, vigil: vp?.output ?? "", wire: wire.stdout });
    }
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("adverts to another of the host's addresses: neither hears them, both become MASTER", () => {
    const [p] = phases;
    // the master's adverts were on the backup's wire, to the secondary address
    expect(p?.wire).toMatch(/> 198\.18\.\d+\.53: VRRPv2, Advertisement, vrid 71, prio 200/);
    expect(p?.keepalived).toMatch(entering("VI_1", "MASTER"));
    expect(p?.vigil).toMatch(entering("VI_1", "MASTER"));
  });

  it("control: bound to that address, both hear the master and stay BACKUP", () => {
    const [, p] = phases;
    expect(p?.wire).toMatch(/> 198\.18\.\d+\.53: VRRPv2, Advertisement, vrid 71, prio 200/);
    expect(p?.keepalived).toMatch(entering("VI_1", "BACKUP"));
    expect(p?.keepalived).not.toMatch(entering("VI_1", "MASTER"));
    expect(p?.vigil).toMatch(entering("VI_1", "BACKUP"));
    expect(p?.vigil).not.toMatch(entering("VI_1", "MASTER"));
  });
});
