/**
 * The fleet the runtime and journal benchmarks drive: `n` VRRP instances (250 per interface, one VIP
 * each) in one `NodeSpec`, a peer's advert for every instance as the transport would deliver it, and
 * an in-memory journal that only counts what it is given; and the real clock the lab benches run a
 * node on (`labClock`). Pure apart from the counter it keeps and that clock.
 */
import { encodeAdvert } from "../src/protocol/codec.ts";
import type { Input } from "../src/runtime/input.ts";
import type { Journal } from "../src/runtime/journal.ts";
import { processTimerHost, RealClock } from "../src/runtime/real-clock.ts";
import { instanceDefaults, type NodeSpec } from "../src/runtime/spec.ts";

/**
 * A real clock that starts CLOCK_OFFSET_S seconds in (default 0), as a daemon's does once it has run
 * that long: past 2^31 µs (about 35.8 minutes) a time in µs is no longer a small integer in V8 (a
 * 32-bit Smi: Node is built without pointer compression).
 */
export function labClock(): RealClock {
  const offsetUs = Number(process.env.CLOCK_OFFSET_S ?? 0) * 1e6;
  const host = processTimerHost();
  return new RealClock({ ...host, nowUs: () => host.nowUs() + offsetUs });
}

/** In-memory journal: every line is fully serialised (the cost is real); only counts are kept. */
export class CountingJournal implements Journal {
  bytes = 0;
  lines = 0;
  append(line: string): void {
    this.bytes += line.length + 1;
    this.lines++;
  }
  close(): void {}
}

/**
 * `n` BACKUP-by-default instances, 250 per interface (`eth0`, `eth1`, …), one VIP each, advert_int
 * `advertIntervalCs` (VRRPv3 when it is not whole seconds).
 */
export const fleetSpec = (n: number, advertIntervalCs = 100): NodeSpec => ({
  instances: Array.from({ length: n }, (_, i) => ({
    params: instanceDefaults({
      name: `VI_${i}`,
      advertIntervalCs,
      ...(advertIntervalCs % 100 === 0 ? {} : { version: 3 as const }),
      vrid: (i % 250) + 1,
      ifname: `eth${Math.floor(i / 250)}`,
      ownIp: "198.18.0.1",
      vips: [`198.18.${4 + Math.floor(i / 250)}.${(i % 250) + 1}`],
    }),
    tracking: [],
    unicastPeers: [],
  })),
  groups: [],
  trackers: [],
});

/** A peer's (198.18.0.2) advert for every instance of `spec` at `priority`, as an `rx` input. */
export const advertsAt = (spec: NodeSpec, priority: number): Input[] =>
  spec.instances.map((s) => {
    const p = s.params;
    const bytes = encodeAdvert(
      { version: 2, vrid: p.vrid, priority, advertIntervalCs: 100, addresses: [p.vips[0] ?? ""] },
      4,
      { src: "198.18.0.2", dst: "224.0.0.18" },
    );
    return {
      kind: "rx",
      family: 4,
      src: "198.18.0.2",
      dst: "224.0.0.18",
      ttl: 255,
      ifname: p.ifname,
      hex: Buffer.from(bytes).toString("hex"),
    };
  });
