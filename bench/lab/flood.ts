/**
 * The advert flood shared by the receive-path benchmarks (bench/daemon-rx.bench.ts,
 * bench/runtime-vs-keepalived.bench.ts): a sender and a receiver namespace joined by veth pairs
 * `vk<k>` (198.19.(200+k).0/24), the receiver's keepalived.conf (PER_IF BACKUP instances a veth,
 * VRIDs 1..PER_IF, priority 100, advert_int 255 s so none times out, VIPs in 198.19.(100+k).0/24),
 * and one run of bench/lab/blaster.ts sending the matching priority-150 adverts round-robin.
 * Not pure: namespaces and processes.
 */
import { join } from "node:path";
import { run } from "../../test/support/lab.ts";
import { vethPair } from "./daemons.ts";

export interface Flood {
  /** The sender's namespace (blaster.ts runs there) and the receiver's (the daemons run there). */
  readonly senderNs: string;
  readonly receiverNs: string;
  /** Veth indexes: one veth `vk<k>` a value. */
  readonly ifs: readonly number[];
  readonly perIf: number;
}

/** The /24 (three octets) of veth k's VIPs. */
export const floodVipNet = (k: number): string => `198.19.${100 + k}`;

/** The veth pairs between the flood's two namespaces (which must exist, e.g. from `addNs`). */
export async function floodLinks(f: Flood): Promise<void> {
  for (const k of f.ifs) await vethPair(f.senderNs, f.receiverNs, `vk${k}`, `198.19.${200 + k}`);
}

/** The receiver's configuration: `perIf` BACKUP instances on each veth. */
export const floodConfig = (f: Flood): string =>
  f.ifs
    .flatMap((k) =>
      Array.from(
        { length: f.perIf },
        (_, i) => `vrrp_instance VI_${k}_${i + 1} {
  state BACKUP
  interface vk${k}
  virtual_router_id ${i + 1}
  priority 100
  advert_int 255
  virtual_ipaddress {
    ${floodVipNet(k)}.${i + 1}
  }
}
`,
      ),
    )
    .join("");

/** One flood at `rate` adverts/s for `seconds` from the sender namespace; what blaster.ts reports. */
export async function blast(
  f: Flood,
  rate: number,
  seconds: number,
): Promise<{ sent: number; errors: number; seconds: number }> {
  const blaster = join(import.meta.dirname, "blaster.ts");
  const args = [
    String(rate),
    String(seconds),
    String(f.perIf),
    ...f.ifs.map((k) => `vk${k}:${floodVipNet(k)}`),
  ];
  const r = await run(
    "ip",
    ["netns", "exec", f.senderNs, "node", "--import", "tsx", blaster, ...args],
    (seconds + 60) * 1000,
  );
  if (r.code !== 0) throw new Error(`blaster failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
}
