/**
 * Every keyword Vigil reads as on/off, with the rule keepalived 2.2.7's handler follows for its
 * argument (read from its source: global_parser.c, vrrp_parser.c, check_parser.c, check_api.c,
 * check_http.c, check_misc.c; lib/parser.c check_true_false), its message for a word that is not a
 * boolean, and where Vigil's Config shows its value. Shared by bool-keywords.test.ts (Vigil alone)
 * and its keepalived -t half. Pure data.
 */
import type { Config } from "../../src/config/types.ts";

/**
 * - `on`: the handler sets the flag whatever follows (`vrrp_strict off` is on; no message);
 * - `tf`: check_true_false — bare/true/on/yes on, false/off/no off, exactly as written; another word
 *   is reported (CONFIG_GENERAL_ERROR) and the keyword ignored;
 * - `tf-set`: check_true_false, but any boolean word sets the flag, `off` included (instance
 *   skip_check_adv_addr);
 * - `tf-on-only`: check_true_false, and `off` changes nothing (vrrp_min_garp);
 * - `tf-unsupported`: check_true_false, Vigil does not act on the keyword (no value to see);
 * - `off`: the handler undoes what `prime` does, whatever follows (`preempt`, `accept`).
 */
export type Rule = "on" | "off" | "tf" | "tf-set" | "tf-on-only" | "tf-unsupported";

/** Where the keyword line goes in BASE. */
export type Slot =
  | "global"
  | "instance"
  | "sync"
  | "script"
  | "process"
  | "vs"
  | "rs"
  | "tcp"
  | "http"
  | "misc";

export interface BoolCase {
  readonly slot: Slot;
  readonly keyword: string;
  readonly rule: Rule;
  /** keepalived's message for a word that is not a boolean. */
  readonly invalid?: (word: string) => string;
  /** For `off`: the keyword that turns the flag on. */
  readonly prime?: string;
  /** A message keepalived prints for the keyword whatever follows it. */
  readonly always?: string;
  readonly value?: (c: Config) => unknown;
}

const vi1 = (c: Config) => c.instances.find((i) => i.name === "VI_1");
const rs0 = (c: Config) => c.virtualServers[0]?.realServers[0];
const checker = (kind: string) => (c: Config) => rs0(c)?.checkers.find((k) => k.kind === kind);

const tf = (
  slot: Slot,
  keyword: string,
  invalid: (w: string) => string,
  value: (c: Config) => unknown,
): BoolCase => ({
  slot,
  keyword,
  rule: "tf",
  invalid,
  value,
});
const on = (slot: Slot, keyword: string, value: (c: Config) => unknown, always?: string): BoolCase => ({
  slot,
  keyword,
  rule: "on",
  value,
  ...(always === undefined ? {} : { always }),
});
const unsupported = (slot: Slot, keyword: string, invalid: (w: string) => string): BoolCase => ({
  slot,
  keyword,
  rule: "tf-unsupported",
  invalid,
});
const globalValue = (w: string) => `Invalid value '${w}' for global`;

export const BOOL_CASES: readonly BoolCase[] = [
  // global_defs (global_parser.c)
  on("global", "enable_script_security", (c) => c.global.enableScriptSecurity),
  tf(
    "global",
    "vrrp_lower_prio_no_advert",
    () => "Invalid value for vrrp_lower_prio_no_advert specified",
    (c) => c.global.lowerPrioNoAdvert,
  ),
  tf(
    "global",
    "vrrp_higher_prio_send_advert",
    () => "Invalid value for vrrp_higher_prio_send_advert specified",
    (c) => c.global.higherPrioSendAdvert,
  ),
  on("global", "vrrp_check_unicast_src", (c) => c.global.checkUnicastSrc),
  on("global", "vrrp_skip_check_adv_addr", (c) => c.global.skipCheckAdvAddr),
  on("global", "vrrp_strict", (c) => c.global.strict),
  tf(
    "global",
    "vrrp_notify_priority_changes",
    (w) => `${globalValue(w)} vrrp_notify_priority_changes specified`,
    (c) => c.global.notifyPriorityChanges,
  ),
  on("global", "log_unknown_vrids", (c) => c.global.logUnknownVrids),
  tf(
    "global",
    "checker_log_all_failures",
    () => "Invalid value for checker_log_all_failures specified",
    (c) => checker("TCP_CHECK")(c)?.logAllFailures,
  ),
  {
    slot: "global",
    keyword: "vrrp_min_garp",
    rule: "tf-on-only",
    invalid: () => "Invalid value for vrrp_min_garp specified",
    value: (c) => [c.global.garp.minGarp, vi1(c)?.garp.masterRepeat, vi1(c)?.garp.masterDelayUs],
  },
  ...[
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "no_checker_emails",
  ].map((kw) => unsupported("global", kw, (w) => `${globalValue(w)} ${kw} specified`)),
  // keepalived's message misspells the keyword
  unsupported("global", "data_use_instance", (w) => `${globalValue(w)} date_use_instance specified`),
  // vrrp_instance VI_1 (vrrp_parser.c)
  on("instance", "unicast_fault_no_peer", (c) => vi1(c)?.unicastFaultNoPeer),
  on("instance", "check_unicast_src", (c) => vi1(c)?.checkUnicastSrc),
  {
    slot: "instance",
    keyword: "skip_check_adv_addr",
    rule: "tf-set",
    invalid: (w) => `(VI_1) invalid skip_check_adv_addr ${w} specified`,
    value: (c) => vi1(c)?.skipCheckAdvAddr,
  },
  tf(
    "instance",
    "strict_mode",
    (w) => `(VI_1) invalid strict_mode ${w} specified`,
    (c) => vi1(c)?.strict,
  ),
  on("instance", "dont_track_primary", (c) => vi1(c)?.dontTrackPrimary),
  on("instance", "promote_secondaries", (c) => vi1(c)?.promoteSecondaries),
  tf(
    "instance",
    "lower_prio_no_advert",
    (w) => `(VI_1) invalid lower_prio_no_advert ${w} specified`,
    (c) => vi1(c)?.lowerPrioNoAdvert,
  ),
  tf(
    "instance",
    "higher_prio_send_advert",
    (w) => `(VI_1) invalid higher_prio_send_advert ${w} specified`,
    (c) => vi1(c)?.higherPrioSendAdvert,
  ),
  tf(
    "instance",
    "notify_priority_changes",
    (w) => `(VI_1) Invalid value '${w}' for notify_priority_changes specified`,
    (c) => vi1(c)?.notifyPriorityChanges,
  ),
  on("instance", "nopreempt", (c) => vi1(c)?.nopreempt),
  { slot: "instance", keyword: "preempt", rule: "off", prime: "nopreempt", value: (c) => vi1(c)?.nopreempt },
  // Vigil's `accept` is on by default (no firewall): `no_accept` is the one that changes it
  on("instance", "no_accept", (c) => vi1(c)?.accept),
  { slot: "instance", keyword: "accept", rule: "off", prime: "no_accept", value: (c) => vi1(c)?.accept },
  unsupported("instance", "smtp_alert", (w) => `Invalid vrrp_instance smtp_alert parameter ${w}`),
  // vrrp_sync_group G
  on("sync", "sync_group_tracking_weight", (c) => c.syncGroups[0]?.trackingWeight),
  on(
    "sync",
    "global_tracking",
    (c) => c.syncGroups[0]?.trackingWeight,
    "(G) global_tracking is deprecated. Use track_interface/script/file on the sync group",
  ),
  tf(
    "sync",
    "notify_priority_changes",
    (w) => `(G) Invalid value '${w}' for sync group notify_priority_changes specified`,
    (c) => c.syncGroups[0]?.notifyPriorityChanges,
  ),
  unsupported("sync", "smtp_alert", (w) => `Invalid vrrp_group smtp_alert parameter ${w}`),
  // trackers
  on("script", "init_fail", (c) => c.scripts[0]?.initFail),
  on("process", "full_command", (c) => c.processes[0]?.fullCommand),
  // virtual_server (check_parser.c): its own flags take no value
  on("vs", "inhibit_on_failure", (c) => c.virtualServers[0]?.inhibitOnFailure),
  on("vs", "alpha", (c) => c.virtualServers[0]?.alpha),
  on("vs", "omega", (c) => c.virtualServers[0]?.omega),
  unsupported("vs", "smtp_alert", (w) => `Invalid virtual_server smtp_alert parameter ${w}`),
  // real_server
  tf(
    "rs",
    "inhibit_on_failure",
    (w) => `Invalid inhibit_on_failure parameter ${w}`,
    (c) => rs0(c)?.inhibitOnFailure,
  ),
  tf(
    "rs",
    "alpha",
    (w) => `Invalid alpha parameter ${w}`,
    (c) => rs0(c)?.alpha,
  ),
  unsupported("rs", "smtp_alert", (w) => `Invalid real_server smtp_alert parameter ${w}`),
  // checkers (check_api.c, check_http.c, check_misc.c)
  tf(
    "tcp",
    "alpha",
    (w) => `Invalid alpha parameter ${w}`,
    (c) => checker("TCP_CHECK")(c)?.alpha,
  ),
  tf(
    "tcp",
    "log_all_failures",
    (w) => `Invalid log_all_failures parameter ${w}`,
    (c) => checker("TCP_CHECK")(c)?.logAllFailures,
  ),
  tf(
    "http",
    "enable_sni",
    (w) => `Invalid enable_sni parameter ${w}`,
    (c) => checker("HTTP_GET")(c)?.enableSni,
  ),
  unsupported("http", "fast_recovery", (w) => `Invalid fast_recovery parameter ${w}`),
  on("misc", "misc_dynamic", (c) => checker("MISC_CHECK")(c)?.miscDynamic),
];

/** The words every keyword is tried with; `undefined` is the bare keyword. */
export const WORDS: readonly (string | undefined)[] = [
  undefined,
  "on",
  "off",
  "true",
  "false",
  "yes",
  "no",
  "ON",
  "True",
  "junk",
];

/** check_true_false (lib/parser.c), restated for the expectations. */
export const wordValue = (w: string | undefined): boolean | "invalid" =>
  w === undefined || w === "on" || w === "true" || w === "yes"
    ? true
    : w === "off" || w === "false" || w === "no"
      ? false
      : "invalid";

/** A configuration keepalived -t and Vigil both read cleanly but for script security; `@slot@` marks where a keyword goes. */
export const BASE = `global_defs {
  @global@
}
vrrp_script chk {
  script "/bin/true"
  @script@
}
vrrp_track_process tp {
  process vigil-bool-test
  @process@
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 5
  priority 100
  @instance@
  virtual_ipaddress {
    198.18.0.10/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 6
  priority 100
  virtual_ipaddress {
    198.18.0.11/24
  }
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  @sync@
}
virtual_server 198.18.0.20 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  @vs@
  real_server 198.18.0.21 80 {
    @rs@
    TCP_CHECK {
      @tcp@
    }
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      @http@
    }
    MISC_CHECK {
      misc_path /bin/true
      @misc@
    }
  }
}
`;

/** BASE with lines at some slots (the others empty), and the 1-based line number of each line put in. */
export function configWith(fill: Partial<Record<Slot, readonly string[]>>): {
  text: string;
  lineNos: Partial<Record<Slot, number[]>>;
} {
  const out: string[] = [];
  const lineNos: Partial<Record<Slot, number[]>> = {};
  for (const l of BASE.split("\n")) {
    const m = /^\s*@(\w+)@$/.exec(l);
    if (m === null) {
      out.push(l);
      continue;
    }
    const slot = m[1] as Slot;
    const lines = fill[slot] ?? [];
    lineNos[slot] = lines.map((_, i) => out.length + 1 + i);
    out.push(...lines);
  }
  return { text: out.join("\n"), lineNos };
}
