/**
 * The `global_defs` keywords keepalived 2.2.7 reads that Vigil does not act on (process tuning,
 * SMTP, SNMP, DBus, nftables, IPVS globals, socket buffers, reloads): each is accepted with a
 * warning that says so, and its value is checked as keepalived's handler checks it
 * (global_parser.c), so `vigil check` complains where `keepalived -t` does. Pure.
 */
import type { GlobalDraft } from "../draft.ts";
import type { Token } from "../lexer.ts";
import type { Statement } from "../parser.ts";
import {
  arg,
  type Ctx,
  type KeywordTable,
  partlyUnsupported,
  readInt,
  readUnsigned,
  strtolInt,
  UINT32_MAX,
  unsupported,
  unsupportedTrueFalse,
} from "../values.ts";

const BUFS = "socket buffer sizes are left to the kernel";

/**
 * Globals Vigil does not act on whose keepalived handler reads check_true_false (global_parser.c):
 * the reason, and the name keepalived's message gives the keyword (its own spelling).
 */
const UNSUPPORTED_TRUE_FALSE_GLOBALS: Readonly<Record<string, readonly [string, string]>> = {
  smtp_alert: ["SMTP alerts are not sent", "smtp_alert"],
  smtp_alert_vrrp: ["SMTP alerts are not sent", "smtp_alert_vrrp"],
  smtp_alert_checker: ["SMTP alerts are not sent", "smtp_alert_checker"],
  no_checker_emails: ["SMTP alerts are not sent", "no_checker_emails"],
  vrrp_netlink_cmd_rcv_bufs_force: [BUFS, "vrrp_netlink_cmd_rcv_bufs_force"],
  vrrp_netlink_monitor_rcv_bufs_force: [BUFS, "vrrp_netlink_monitor_rcv_bufs_force"],
  process_monitor_rcv_bufs_force: [BUFS, "process_monitor_rcv_bufs_force"],
  lvs_netlink_cmd_rcv_bufs_force: [BUFS, "lvs_netlink_cmd_rcv_bufs_force"],
  lvs_netlink_monitor_rcv_bufs_force: [BUFS, "lvs_netlink_monitor_rcv_bufs_force"],
  rs_init_notifies: ["real servers' initial states are not notified", "rs_init_notifies"],
  // keepalived 2.2.7's message misspells it
  data_use_instance: ["no data files are written", "date_use_instance"],
};

/** A keyword whose handler reports a missing value with `message` (and does nothing else checked here). */
const bare =
  (message: string) =>
  (c: Ctx, st: Statement): void => {
    if (st.args.length === 0) c.diags.error(st.keyword, "value", message);
  };

/** get_realtime_priority: `vrrp_rt_priority` and its checker / bfd twins, 1..RT_PRIORITY_MAX. */
const rtPriority = (c: Ctx, st: Statement): void => {
  const process = st.keyword.text.split("_")[0] ?? "";
  const t = st.args[0];
  if (t === undefined)
    return void c.diags.error(st.keyword, "value", `No ${process} process real-time priority specified`);
  const v = readInt(c, t, -2_147_483_648, 2_147_483_647, true);
  if (v === undefined) c.diags.error(t, "range", `${process} process real-time priority '${t.text}' invalid`);
  else if (v < 1)
    c.diags.error(
      t,
      "range",
      `${process} process real-time priority ${v} less than minimum 1 - setting to minimum`,
    );
  else if (v > RT_PRIORITY_MAX)
    c.diags.error(
      t,
      "range",
      `${process} process real-time priority ${v} greater than maximum ${RT_PRIORITY_MAX} - setting to maximum`,
    );
};

/** get_rt_rlimit: `*_rlimit_rttime` (and the deprecated `*_rlimit_rtime`), 1..2^32 - 1. */
const rtRlimit = (c: Ctx, st: Statement): void => {
  const process = st.keyword.text.split("_")[0] ?? "";
  const t = arg(c, st);
  if (t !== undefined && readUnsigned(c, t, 1, UINT32_MAX, true) === undefined)
    c.diags.error(t, "range", `Invalid ${process} real-time limit - ${t.text}`);
};

/** get_cpu_affinity: CPU numbers below the host's online CPU count; the first bad one ends the line. */
const cpuAffinity = (c: Ctx, st: Statement): void => {
  const process = st.keyword.text.split("_")[0] ?? "";
  if (st.args.length === 0)
    return void c.diags.error(st.keyword, "value", `No ${process} cpu_id set specified`);
  if (c.onlineCpus === undefined) return;
  const cpus = c.onlineCpus();
  for (const w of st.args)
    if (readInt(c, w, 0, cpus - 1, true) === undefined)
      return void c.diags.error(
        w,
        "range",
        `Invalid cpu_id:${strtolInt(w.text)} specified for ${process} process`,
      );
};

const lvsFlushOnStop = (c: Ctx, st: Statement): void => {
  const t = st.args[0];
  if (t !== undefined && t.text !== "VS")
    c.diags.error(t, "value", `Unknown lvs_flush_on_stop type ${t.text}`);
};

/** keepalived's LVS_MAX_TIMEOUT: 31 days, in seconds. */
const LVS_MAX_TIMEOUT_S = 86_400 * 31;

/** global_parser.c lvs_timeouts: `tcp|tcpfin|udp SECONDS` pairs, each checked on its own. */
const lvsTimeouts = (c: Ctx, st: Statement): void => {
  if (st.args.length < 2)
    return void c.diags.error(st.args[0] ?? st.keyword, "value", "lvs_timeouts requires at least one option");
  for (let i = 0; i < st.args.length; i++) {
    const w = st.args[i] as Token;
    if (w.text !== "tcp" && w.text !== "tcpfin" && w.text !== "udp") {
      c.diags.error(w, "value", `Unknown option ${w.text} specified for lvs_timeouts`);
      continue;
    }
    const v = st.args[i + 1];
    if (v === undefined) {
      c.diags.error(w, "value", `No value specified for lvs_timeout ${w.text} - ignoring`);
      continue;
    }
    if (readUnsigned(c, v, 0, LVS_MAX_TIMEOUT_S) === undefined)
      c.diags.error(v, "range", `Invalid lvs_timeout ${w.text} (${v.text}) - ignoring`);
    i++;
  }
};

/**
 * lib/parser.c include_check_set: words `read`, `match`, `wildcard_match`, `brace_match`, each may
 * be `+`/`-` prefixed; an unprefixed one after the first is a duplicate. Checked only: Vigil's
 * preprocessor has its own include checks.
 */
const includeCheck = (c: Ctx, st: Statement): void => {
  for (const [i, w] of st.args.entries()) {
    const signed = w.text.startsWith("-") || w.text.startsWith("+");
    if (!signed && i > 0) {
      c.diags.error(w, "value", `Duplicate include_check '${w.text}' specified - ignoring`);
      continue;
    }
    const type = signed ? w.text.slice(1) : w.text;
    if (!["read", "match", "wildcard_match", "brace_match"].includes(type))
      c.diags.error(w, "value", `Unknown include_check type '${type}' - ignoring`);
  }
};

/** sched_get_priority_max(SCHED_RR) on Linux; the minimum is 1. */
const RT_PRIORITY_MAX = 99;

/** keepalived's process priority (get_priority): a nice value, -20..19. */
const nicePriority = (c: Ctx, st: Statement): void => {
  const process = st.keyword.text.split("_")[0] ?? "";
  const t = st.args[0];
  if (t === undefined)
    return void c.diags.error(st.keyword, "value", `No ${process} process priority specified`);
  if (readInt(c, t, -20, 19, true) === undefined)
    c.diags.error(t, "range", `Invalid ${process} process priority specified`);
};

/** `*_rcv_bufs` (get_netlink_rcv_bufs_size): an unsigned size. */
const rcvBufs = (c: Ctx, st: Statement): void => {
  const type = st.keyword.text.replace(/_rcv_bufs$/, "");
  const t = st.args[0];
  if (t === undefined) return void c.diags.error(st.keyword, "value", `${type}_rcv_bufs size missing`);
  if (readUnsigned(c, t, 0, UINT32_MAX) === undefined)
    c.diags.error(t, "range", `${type}_rcv_bufs size (${t.text}) invalid`);
};

/** startup_ / shutdown_script_timeout: 1..1000 s. */
const scriptTimeout = (c: Ctx, st: Statement): void => {
  const type = st.keyword.text.replace(/_script_timeout$/, "");
  const t = st.args[0];
  if (t === undefined)
    return void c.diags.error(st.keyword, "value", `${type}_script_timeout requires value`);
  if (readUnsigned(c, t, 1, 1000, true) === undefined)
    c.diags.error(t, "range", `${type}_script_timeout '${t.text}' must be in [1, 1000] - ignoring`);
};

const UMASK_BITS = ["IRUSR", "IWUSR", "IXUSR", "IRGRP", "IWGRP", "IXGRP", "IROTH", "IWOTH", "IXOTH"];

/** umask_handler: a number (strtol, base from its prefix) of permission bits, or `IRUSR|IWGRP…`. */
const umaskCheck = (c: Ctx, st: Statement): void => {
  const t = arg(c, st);
  if (t === undefined) return;
  if (/^\d/.test(t.text)) {
    if (st.args.length !== 1) return void c.diags.error(t, "value", "Extra parameter(s) to umask option");
    const text = t.text;
    const n = /^0[xX][0-9a-fA-F]+$/.test(text)
      ? Number.parseInt(text.slice(2), 16)
      : /^0[0-7]*$/.test(text)
        ? Number.parseInt(text, 8)
        : /^[1-9]\d*$/.test(text)
          ? Number(text)
          : Number.NaN;
    if (!(n >= 0 && n <= 0o777)) c.diags.error(t, "value", `invalid umask value ${text}`);
    return;
  }
  let needOr = false;
  for (const w of st.args) {
    for (let p = 0; p < w.text.length; ) {
      if (needOr) {
        if (w.text[p] !== "|") return void c.diags.error(w, "value", `Invalid umask syntax ${w.text}`);
        needOr = false;
        p++;
        continue;
      }
      if (!UMASK_BITS.includes(w.text.slice(p, p + 5)))
        return void c.diags.error(w, "value", `Unknown umask bit ${w.text.slice(p)}`);
      p += 5;
      needOr = true;
    }
  }
  if (!needOr) c.diags.error(t, "value", "umask missing bit value");
};

/**
 * Globals Vigil does not act on whose values are still checked as keepalived checks them
 * (global_parser.c), so `vigil check` complains where `keepalived -t` does; the CPU affinities
 * against this host's online CPUs, as keepalived does. Not here: smtp_server (a name is resolved).
 */
const GLOBAL_CHECKS: Readonly<Record<string, (c: Ctx, st: Statement) => void>> = {
  vrrp_priority: nicePriority,
  checker_priority: nicePriority,
  max_auto_priority: (c, st) => {
    const t = st.args[0];
    if (t !== undefined && readInt(c, t, -1, RT_PRIORITY_MAX, true) === undefined)
      c.diags.error(
        t,
        "range",
        `max_auto_priority '${t.text}' must be in [0, ${RT_PRIORITY_MAX}] (or -1 to disable) - ignoring`,
      );
  },
  min_auto_priority_delay: (c, st) => {
    const t = st.args[0];
    if (t === undefined)
      return void c.diags.error(st.keyword, "value", "min_auto_priority_delay requires delay time");
    if (readInt(c, t, 1, 10_000_000, true) === undefined)
      c.diags.error(t, "range", `min_auto_priority_delay '${t.text}' must be in [1, 10000000] - ignoring`);
  },
  vrrp_rt_priority: rtPriority,
  checker_rt_priority: rtPriority,
  bfd_rt_priority: rtPriority,
  ...Object.fromEntries(
    ["vrrp", "checker", "bfd"].flatMap((p) => [
      [`${p}_rlimit_rttime`, rtRlimit],
      // deprecated spelling, the same handler (keepalived logs the deprecation as information only)
      [`${p}_rlimit_rtime`, rtRlimit],
    ]),
  ),
  bfd_priority: nicePriority,
  // save_process_name reads the name before it looks at it: a missing one stops the parser
  ...Object.fromEntries(
    ["process_name", "vrrp_process_name", "checker_process_name", "lvs_process_name", "bfd_process_name"].map(
      (k) => [k, (c: Ctx, st: Statement) => void arg(c, st)],
    ),
  ),
  lvs_netlink_cmd_rcv_bufs: rcvBufs,
  lvs_netlink_monitor_rcv_bufs: rcvBufs,
  // ipvs_nftables_handler: an optional table name, shorter than NFT_TABLE_MAXNAMELEN (32)
  nftables_ipvs: (c, st) => {
    const t = st.args[0];
    if (t !== undefined && Buffer.byteLength(t.text) >= 32)
      c.diags.error(t, "value", "ipvs nftables table name too long - ignoring");
  },
  nftables_ipvs_priority: (c, st) => {
    const t = arg(c, st);
    if (t !== undefined && readInt(c, t, -2_147_483_648, 2_147_483_647) === undefined)
      c.diags.error(t, "range", `invalid ipvs nftables chain priority '${t.text}'`);
  },
  nftables_ipvs_start_fwmark: (c, st) => {
    const t = arg(c, st);
    if (t !== undefined && readUnsigned(c, t, 1, UINT32_MAX) === undefined)
      c.diags.error(t, "range", `invalid ipvs nftables start_fwmark priority '${t.text}'`);
  },
  nftables_priority: (c, st) => {
    const t = arg(c, st);
    if (t !== undefined && readInt(c, t, -2_147_483_648, 2_147_483_647) === undefined)
      c.diags.error(t, "range", `invalid nftables chain priority '${t.text}'`);
  },
  vrrp_netlink_cmd_rcv_bufs: rcvBufs,
  vrrp_netlink_monitor_rcv_bufs: rcvBufs,
  process_monitor_rcv_bufs: rcvBufs,
  vrrp_rx_bufs_multiplier: (c, st) => {
    const t = st.args[0];
    if (t === undefined || st.args.length !== 1)
      return void c.diags.error(t ?? st.keyword, "value", "Invalid vrrp_rx_bufs_multiplier");
    if (readUnsigned(c, t, 1, UINT32_MAX) === undefined)
      c.diags.error(t, "range", `Invalid vrrp_rx_bufs_multiplier ${t.text}`);
  },
  // vrrp_rx_bufs_policy_handler: MTU / ADVERT (any case), or a size — always read from the first word.
  vrrp_rx_bufs_policy: (c, st) => {
    const [first] = st.args;
    if (first === undefined) return void c.diags.error(st.keyword, "value", "vrrp_rx_bufs_policy missing");
    let size = false;
    let mtu = false;
    let advert = false;
    for (const w of st.args) {
      const word = w.text.toUpperCase();
      if (word === "MTU") mtu = true;
      else if (word === "ADVERT") advert = true;
      else if (readUnsigned(c, first, 0, UINT32_MAX) === undefined)
        c.diags.error(w, "range", `Invalid vrrp_rx_bufs_policy ${w.text}`);
      else size = true;
    }
    if (size && (mtu || advert))
      c.diags.error(first, "semantic", "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy");
    else if (mtu && advert)
      c.diags.error(first, "semantic", "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT");
  },
  smtp_connect_timeout: (c, st) => {
    const t = arg(c, st);
    if (t === undefined) return;
    const v = readUnsigned(c, t, 0, Math.floor(UINT32_MAX / 1e6), true);
    if (v === undefined)
      c.diags.error(t, "range", `smtp_connect_timeout '${t.text}' must be in [0, 4294] - ignoring`);
    // keepalived's own spelling ("conect").
    else if (v === 0) c.diags.warn(t, "value", "smtp_conect_timeout must be greater than 0, setting to 1");
  },
  startup_script_timeout: scriptTimeout,
  shutdown_script_timeout: scriptTimeout,
  umask: umaskCheck,
  // A missing value: keepalived's parser stops (null_strvec) for these…
  smtp_server: (c, st) => void arg(c, st),
  vmac_prefix: (c, st) => void arg(c, st),
  vmac_addr_prefix: (c, st) => void arg(c, st),
  config_save_dir: (c, st) => void arg(c, st),
  // …and their handlers say so and go on for these.
  notification_email_from: bare("emailfrom missing - ignoring"),
  vrrp_cpu_affinity: cpuAffinity,
  checker_cpu_affinity: cpuAffinity,
  bfd_cpu_affinity: cpuAffinity,
  tmp_config_directory: bare("tmp_config_directory missing directory name"),
  dbus_service_name: bare("dbus_service_name missing - ignoring"),
  snmp_socket: bare("SNMP error : snmp socket name missing"),
  lvs_sync_daemon: bare("lvs_sync_daemon requires interface"),
  lvs_timeouts: lvsTimeouts,
  // lvs_flush_on_stop_handler (also under its older name): bare (a full flush) or VS.
  lvs_flush_on_stop: lvsFlushOnStop,
  lvs_flush_onstop: lvsFlushOnStop,
  include_check: includeCheck,
  reload_time_file: bare("reload_time_file invalid"),
};

const UNSUPPORTED_GLOBALS: Readonly<Record<string, string>> = {
  notification_email: "SMTP alerts are not sent",
  notification_email_from: "SMTP alerts are not sent",
  smtp_server: "SMTP alerts are not sent",
  smtp_helo_name: "SMTP alerts are not sent",
  smtp_connect_timeout: "SMTP alerts are not sent",
  no_email_faults: "SMTP alerts are not sent",
  fifo_write_vrrp_states_on_reload: "states are not rewritten to the FIFO on reload",
  max_auto_priority: "process scheduling is left to the OS",
  min_auto_priority_delay: "process scheduling is left to the OS",
  vrrp_priority: "process scheduling is left to the OS",
  vrrp_rt_priority: "process scheduling is left to the OS",
  vrrp_no_swap: "process scheduling is left to the OS",
  vrrp_cpu_affinity: "process scheduling is left to the OS",
  vrrp_rlimit_rttime: "process scheduling is left to the OS",
  checker_priority: "process scheduling is left to the OS",
  checker_no_swap: "process scheduling is left to the OS",
  nftables: "no firewall rules are installed",
  nftables_priority: "no firewall rules are installed",
  nftables_counters: "no firewall rules are installed",
  nftables_ifindex: "no firewall rules are installed",
  vrrp_netlink_cmd_rcv_bufs: "socket buffer sizes are left to the kernel",
  vrrp_netlink_monitor_rcv_bufs: "socket buffer sizes are left to the kernel",
  process_monitor_rcv_bufs: "socket buffer sizes are left to the kernel",
  vrrp_rx_bufs_policy: "socket buffer sizes are left to the kernel",
  vrrp_rx_bufs_multiplier: "socket buffer sizes are left to the kernel",
  umask: "the process umask is used",
  vmac_prefix: "no VMAC interfaces are created",
  vmac_addr_prefix: "no VMAC interfaces are created",
  enable_dbus: "DBus is not served",
  dbus_service_name: "DBus is not served",
  snmp_socket: "SNMP is not served",
  enable_snmp_vrrp: "SNMP is not served",
  enable_snmp_keepalived: "SNMP is not served",
  enable_snmp_rfcv2: "SNMP is not served",
  enable_snmp_rfcv3: "SNMP is not served",
  enable_snmp_checker: "SNMP is not served",
  enable_traps: "SNMP is not served",
  lvs_sync_daemon: "IPVS sync daemon is not run",
  lvs_timeouts: "IPVS connection timeouts are not set",
  lvs_flush: "the IPVS table is not flushed at start",
  lvs_flush_on_stop: "the IPVS table is not flushed at stop (Vigil removes only what it added)",
  lvs_flush_onstop: "the IPVS table is not flushed at stop (Vigil removes only what it added)",
  lvs_netlink_cmd_rcv_bufs: "socket buffer sizes are left to the kernel",
  lvs_netlink_monitor_rcv_bufs: "socket buffer sizes are left to the kernel",
  nftables_ipvs: "no firewall rules are installed",
  nftables_ipvs_priority: "no firewall rules are installed",
  nftables_ipvs_start_fwmark: "no firewall rules are installed",
  process_names: "process names are not set",
  process_name: "process names are not set",
  vrrp_process_name: "process names are not set",
  checker_process_name: "process names are not set",
  lvs_process_name: "process names are not set",
  bfd_process_name: "process names are not set",
  vrrp_rlimit_rtime: "process scheduling is left to the OS",
  checker_rt_priority: "process scheduling is left to the OS",
  checker_cpu_affinity: "process scheduling is left to the OS",
  checker_rlimit_rttime: "process scheduling is left to the OS",
  checker_rlimit_rtime: "process scheduling is left to the OS",
  bfd_priority: "process scheduling is left to the OS",
  bfd_no_swap: "process scheduling is left to the OS",
  bfd_rt_priority: "process scheduling is left to the OS",
  bfd_cpu_affinity: "process scheduling is left to the OS",
  bfd_rlimit_rttime: "process scheduling is left to the OS",
  bfd_rlimit_rtime: "process scheduling is left to the OS",
  disable_local_igmp: "IGMP link-local reports are left as the kernel has them",
  enable_snmp_rfc: "SNMP is not served",
  tmp_config_directory: "configurations are not copied to a temporary directory",
  reload_check_config: "a reload is always checked before it is applied; no check log file is written",
  reload_time_file: "scheduled reloads are not supported; send SIGHUP",
  reload_repeat: "scheduled reloads are not supported; send SIGHUP",
  reload_file: "reload requests by file are not supported; send SIGHUP",
  include_check: "missing includes are reported as Vigil sees fit",
  config_save_dir: "configurations are not saved on reload",
  startup_script_timeout: "startup scripts are not run yet",
  shutdown_script_timeout: "shutdown scripts are not run yet",
};

/** Every such keyword, checked where keepalived checks it, each with its "not acted on" note. */
export const unactedGlobalKeywords: KeywordTable<GlobalDraft> = {
  ...Object.fromEntries(
    Object.entries(UNSUPPORTED_GLOBALS).map(([k, why]) => {
      const check = GLOBAL_CHECKS[k];
      return [
        k,
        check === undefined
          ? unsupported<GlobalDraft>(why, k === "notification_email")
          : partlyUnsupported<GlobalDraft>({ handle: (c, st) => check(c, st) }, why),
      ];
    }),
  ),
  ...Object.fromEntries(
    Object.entries(UNSUPPORTED_TRUE_FALSE_GLOBALS).map(([k, [why, name]]) => [
      k,
      unsupportedTrueFalse<GlobalDraft>(why, (w) => `Invalid value '${w}' for global ${name} specified`),
    ]),
  ),
};
