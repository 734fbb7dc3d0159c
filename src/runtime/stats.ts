/**
 * Per-instance counters as keepalived names them in `keepalived.json` (docs/keepalived-reference.md §4). Mutable
 * counters owned by the Node (part of its checkpoint); pure constructor; `countCommand` updates them
 * for a command the instance emitted, `countStateChange` for a change of its state. (Received
 * datagrams are counted from what the codec adapter reports, codec.adapter.ts `Received.counters`.)
 */
import type { Command } from "../../machines/events.ts";

export interface InstanceStats {
  advert_rcvd: number;
  advert_sent: number;
  become_master: number;
  release_master: number;
  packet_len_err: number;
  advert_interval_err: number;
  ip_ttl_err: number;
  invalid_type_rcvd: number;
  addr_list_err: number;
  invalid_authtype: number;
  authtype_mismatch: number;
  auth_failure: number;
  pri_zero_rcvd: number;
  pri_zero_sent: number;
}

export type StatsCounter = keyof InstanceStats;

export const newStats = (): InstanceStats => ({
  advert_rcvd: 0,
  advert_sent: 0,
  become_master: 0,
  release_master: 0,
  packet_len_err: 0,
  advert_interval_err: 0,
  ip_ttl_err: 0,
  invalid_type_rcvd: 0,
  addr_list_err: 0,
  invalid_authtype: 0,
  authtype_mismatch: 0,
  auth_failure: 0,
  pri_zero_rcvd: 0,
  pri_zero_sent: 0,
});

/** Counts an emitted command: adverts sent (and of them, priority 0). */
export const countCommand = (stats: InstanceStats, c: Command): void => {
  if (c.type === "sendAdvert") {
    stats.advert_sent++;
    if (c.priority === 0) stats.pri_zero_sent++;
  }
};

/**
 * Counts a change of the instance's top state as keepalived 2.2.7 does: `become_master` on entering
 * MASTER (`vrrp_state_become_master`), `release_master` on leaving it for BACKUP or FAULT
 * (`vrrp_state_leave_master`) — not on a shutdown (MASTER → STOP), not for a MASTER kept by a reload.
 */
export const countStateChange = (stats: InstanceStats, from: string, to: string): void => {
  if (to === "MASTER" && from !== "MASTER") stats.become_master++;
  else if (from === "MASTER" && (to === "BACKUP" || to === "FAULT")) stats.release_master++;
};
