/**
 * Election guards: how a received advert compares with the local instance (docs/keepalived-reference.md §3.2).
 * Addresses are compared as unsigned numbers (IPv4 dotted quad, IPv6 text). Pure.
 */

/** Parses an IPv4 or IPv6 address into a big-endian byte array (16 bytes for v6, 4 for v4). */
export const addressBytes = (ip: string): number[] => {
  if (!ip.includes(":")) return ip.split(".").map((p) => Number.parseInt(p, 10) & 0xff);
  const [head = "", tail] = ip.split("::") as [string, string | undefined];
  const groups = (s: string): number[] => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  return all.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
};

/** −1, 0 or 1 as `a` is numerically below, equal to or above `b`. */
export const compareAddresses = (a: string, b: string): number => {
  const x = addressBytes(a);
  const y = addressBytes(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
};

/** How an advert ranks against the local master: the outcome of RFC 5798 §6.4.3 as keepalived does it. */
export type AdvertRank =
  | "zero" // priority 0: the master is leaving
  | "lower" // lower priority, or equal priority from a lower address
  | "self" // equal priority from our own address
  | "higher"; // higher priority, or equal priority from a higher address

/** Classifies an advert received by a MASTER. */
export const rankAdvert = (
  advert: { readonly priority: number; readonly srcIp: string },
  local: { readonly priority: number; readonly ownIp: string },
): AdvertRank => {
  if (advert.priority === 0) return "zero";
  if (advert.priority < local.priority) return "lower";
  if (advert.priority > local.priority) return "higher";
  const c = compareAddresses(advert.srcIp, local.ownIp);
  return c === 0 ? "self" : c < 0 ? "lower" : "higher";
};

/**
 * Does a preempting BACKUP accept (reset its timer for) a non-zero advert? Yes with nopreempt, when the
 * advert priority is ≥ its own, or while the preempt_delay window runs; otherwise it discards it.
 */
export const backupAccepts = (
  advertPriority: number,
  local: { readonly priority: number; readonly nopreempt: boolean; readonly preemptDelayRunning: boolean },
): boolean => local.nopreempt || advertPriority >= local.priority || local.preemptDelayRunning;
