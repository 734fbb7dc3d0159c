/**
 * Per-instance counters as keepalived names them in `keepalived.json` (docs/keepalived-reference.md §4). Mutable
 * counters owned by the Node; pure constructor.
 */
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
