/**
 * A BACKUP that stalls (SIGSTOP: a frozen VM, swapping, a debugger) for longer than its
 * Master_Down interval while its master keeps advertising, then runs again, hears the adverts that
 * queued in its socket before its down timers can fire, and stays BACKUP — as keepalived 2.2.7 does
 * (it reads its socket's pending adverts before it looks at expired timers). Eight VRIDs at
 * advert_int 0.1 s, VRRPv3, one socket: after the stall, a read of one datagram per wake-up would
 * leave seven down timers overdue. Both directions: Vigil stalled behind keepalived, and keepalived
 * stalled behind Vigil; and two Vigil daemons over the UDP transport, the BACKUP stalled. ~15 s.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, type KeepalivedRun, type Lab } from "../support/lab.ts";
import {
  addressesOn,
  configText,
  countLines,
  instanceBlock,
  killVigil,
  sawLine,
  sleepMs,
  startVigil,
  type Verified,
  type VigilRun,
  verifyJournal,
} from "./support/mixed-cluster.ts";
import { expectJournalsVerified, withLabs } from "./support/mixed-cluster-suite.ts";

const suite =
  "netns: a BACKUP stalled past Master_Down hears the queued adverts first (Vigil and keepalived)";
const VRIDS = [61, 62, 63, 64, 65, 66, 67, 68];
const STALL_MS = 1_000;

/**
 * Eight instances VI_61…VI_68 at `prio`, advert_int 0.1, v3, one VIP each on the lab's network; over
 * Vigil's UDP transport when `udp`.
 */
const conf = (lab: Lab, prio: number, udp = false): string =>
  configText(
    `stall-${prio}`,
    ...VRIDS.map((vrid) =>
      instanceBlock({
        name: `VI_${vrid}`,
        vrid,
        prio,
        advertInt: "0.1",
        version: 3,
        vips: [`198.18.${lab.subnet}.${vrid}/24`],
        ...(udp ? { extra: ["vigil_transport udp"] } : {}),
      }),
    ),
  );

interface Stalled {
  backupLog: string;
  /** Addresses on the stalled BACKUP's interface after the stall. */
  after: string[];
  journals: Verified[];
}

/** Stops `pid` for STALL_MS, then lets it run again and waits 1.5 s. */
async function stall(pid: number): Promise<void> {
  process.kill(pid, "SIGSTOP");
  await sleepMs(STALL_MS);
  process.kill(pid, "SIGCONT");
  await sleepMs(1_500);
}

/** keepalived MASTER on h2, Vigil BACKUP on h1, Vigil stalled. */
async function vigilStalled(lab: Lab): Promise<Stalled> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const ka = lab.keepalived(h2, conf(lab, 200), "keepalived-200");
  let v: VigilRun | undefined;
  try {
    await sawLine(ka.proc, /Entering MASTER STATE/, 10_000, VRIDS.length);
    v = startVigil(lab, h1, conf(lab, 100), "vigil-100");
    await sawLine(v.proc, /Entering BACKUP STATE/, 30_000, VRIDS.length);
    await sleepMs(1_000);
    if (v.proc.pid === undefined) throw new Error("vigil has no pid");
    await stall(v.proc.pid);
    const after = await addressesOn(lab, h1);
    await v.proc.stop("SIGTERM", 10_000);
    await ka.proc.stop("SIGTERM", 5_000);
    return { backupLog: v.proc.output, after, journals: await verifyJournal(v) };
  } finally {
    if (v?.proc.running) await killVigil(v);
    dumpForInspection("stalled-vigil.txt", v?.proc.output ?? "");
  }
}

/** Vigil MASTER on h1, keepalived BACKUP on h2, keepalived's VRRP process stalled. */
async function keepalivedStalled(lab: Lab): Promise<Stalled> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const v = startVigil(lab, h1, conf(lab, 200), "vigil-200");
  let ka: KeepalivedRun | undefined;
  try {
    await sawLine(v.proc, /Entering MASTER STATE/, 30_000, VRIDS.length);
    ka = lab.keepalived(h2, conf(lab, 100), "keepalived-100");
    await sawLine(ka.proc, /Entering BACKUP STATE/, 10_000, VRIDS.length);
    await sleepMs(1_000);
    await stall(Number(readFileSync(join(ka.dir, "v.pid"), "utf8").trim()));
    const after = await addressesOn(lab, h2);
    await ka.proc.stop("SIGTERM", 5_000);
    await v.proc.stop("SIGTERM", 10_000);
    return { backupLog: ka.proc.output, after, journals: await verifyJournal(v) };
  } finally {
    if (v.proc.running) await killVigil(v);
    dumpForInspection("stalled-keepalived.txt", ka?.proc.output ?? "");
  }
}

/** Vigil MASTER on h1, Vigil BACKUP on h2, over the UDP transport; the BACKUP stalled. */
async function udpStalled(lab: Lab): Promise<Stalled> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const m = startVigil(lab, h1, conf(lab, 200, true), "vigil-udp-200");
  let v: VigilRun | undefined;
  try {
    await sawLine(m.proc, /Entering MASTER STATE/, 30_000, VRIDS.length);
    v = startVigil(lab, h2, conf(lab, 100, true), "vigil-udp-100");
    await sawLine(v.proc, /Entering BACKUP STATE/, 30_000, VRIDS.length);
    await sleepMs(1_000);
    if (v.proc.pid === undefined) throw new Error("vigil has no pid");
    await stall(v.proc.pid);
    const after = await addressesOn(lab, h2);
    await v.proc.stop("SIGTERM", 10_000);
    await m.proc.stop("SIGTERM", 10_000);
    return { backupLog: v.proc.output, after, journals: await verifyJournal(m, v) };
  } finally {
    if (v?.proc.running) await killVigil(v);
    if (m.proc.running) await killVigil(m);
    dumpForInspection("stalled-vigil-udp.txt", v?.proc.output ?? "");
  }
}

describe.skipIf(skipUnlessLab(suite, { netns: true, keepalived: true }))(suite, () => {
  let vigil: Stalled | undefined;
  let keepalived: Stalled | undefined;
  let udp: Stalled | undefined;
  withLabs(["sa", "sb", "sc"] as const, async ([a, b, c]) => {
    [vigil, keepalived, udp] = await Promise.all([vigilStalled(a), keepalivedStalled(b), udpStalled(c)]);
  });

  it("keepalived, stalled behind Vigil, stays BACKUP: the reference behaviour", () => {
    expect(countLines(keepalived?.backupLog ?? "", /Entering BACKUP STATE/)).toBeGreaterThanOrEqual(
      VRIDS.length,
    );
    expect(keepalived?.backupLog).not.toMatch(/Entering MASTER STATE/);
    expect(keepalived?.after.filter((a) => VRIDS.some((vrid) => a.endsWith(`.${vrid}`)))).toEqual([]);
  });

  it("Vigil, stalled behind keepalived, stays BACKUP: no instance takes over, no VIP is added", () => {
    expect(countLines(vigil?.backupLog ?? "", /Entering BACKUP STATE/)).toBeGreaterThanOrEqual(VRIDS.length);
    expect(vigil?.backupLog).not.toMatch(/Entering MASTER STATE/);
    expect(vigil?.after.filter((a) => VRIDS.some((vrid) => a.endsWith(`.${vrid}`)))).toEqual([]);
  });

  it("Vigil over its UDP transport, stalled behind Vigil, stays BACKUP too (node:dgram's sockets read first)", () => {
    expect(countLines(udp?.backupLog ?? "", /Entering BACKUP STATE/)).toBeGreaterThanOrEqual(VRIDS.length);
    expect(udp?.backupLog).not.toMatch(/Entering MASTER STATE/);
    expect(udp?.after.filter((a) => VRIDS.some((vrid) => a.endsWith(`.${vrid}`)))).toEqual([]);
  });

  it("every Vigil journal replays", () => {
    expectJournalsVerified(
      [...(vigil?.journals ?? []), ...(keepalived?.journals ?? []), ...(udp?.journals ?? [])],
      4,
    );
  });
});
