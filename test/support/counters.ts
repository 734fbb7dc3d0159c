/**
 * keepalived 2.2.7's per-instance VRRP counters, in the order of its stats file (`vrrp_print_stats`)
 * and JSON dump, written out here independently of src/runtime/stats.ts, so that a test comparing
 * against this list fails when the source's list is wrong. Pure data.
 */
export const KEEPALIVED_COUNTERS = [
  "advert_rcvd",
  "advert_sent",
  "become_master",
  "release_master",
  "packet_len_err",
  "advert_interval_err",
  "ip_ttl_err",
  "invalid_type_rcvd",
  "addr_list_err",
  "invalid_authtype",
  "authtype_mismatch",
  "auth_failure",
  "pri_zero_rcvd",
  "pri_zero_sent",
] as const;

export type CounterName = (typeof KEEPALIVED_COUNTERS)[number];

/** keepalived's counters but `excluded`, in keepalived's order. */
export const countersWithout = <const X extends CounterName>(
  ...excluded: readonly X[]
): Exclude<CounterName, X>[] =>
  KEEPALIVED_COUNTERS.filter(
    (k): k is Exclude<CounterName, X> => !(excluded as readonly CounterName[]).includes(k),
  );
