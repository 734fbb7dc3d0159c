/**
 * The top-level keyword table (every block keepalived accepts at the top of a file) and the
 * `global_defs` table (docs/keepalived-reference.md §2.1). Keywords for features Vigil does not implement are
 * accepted with a warning that says so. Pure.
 */
import type { ConfigDraft, FifoDraft, GlobalDraft } from "../draft.ts";
import { newInstance } from "../draft.ts";
import type { Token } from "../lexer.ts";
import type { Statement } from "../parser.ts";
import {
  arg,
  argOrSkip,
  atToken,
  type Ctx,
  isLinkLocalMulticast6,
  isMulticast,
  type KeywordSpec,
  type KeywordTable,
  partlyUnsupported,
  readAddress,
  readCommand,
  readInt,
  readSecondsUs,
  readUnsigned,
  strtolInt,
  trueFalseKeyword,
  UINT32_MAX,
  unsupported,
  unsupportedBlock,
  unsupportedTrueFalse,
  unsupportedValueBlock,
  valueBlock,
  walk,
} from "../values.ts";
import { readInstance } from "./instance.ts";
import { readVirtualServer } from "./lvs.ts";
import { readVirtualServerGroup } from "./lvs-group.ts";
import { flag, flagOn, garpKeywords, readTransport } from "./shared.ts";
import { readFileTracker, readProcess, readScript, readSyncGroup } from "./trackers.ts";

/** keepalived checks these two itself: a missing value is reported and skipped (not fatal). */
const str = (key: "routerId" | "defaultInterface", missing: string): KeywordSpec<GlobalDraft> => ({
  handle: (c, st, s) => {
    const t = argOrSkip(c, st, missing);
    if (t !== undefined) s[key] = t.text;
  },
});

type FifoKey = "notifyFifo" | "vrrpNotifyFifo" | "lvsNotifyFifo";
const fifo = (key: FifoKey): KeywordSpec<GlobalDraft> => ({
  handle: (c, st, s) => {
    const t = st.args[0];
    // global_parser.c fifo_handler: a missing name is reported, not fatal.
    if (t === undefined)
      return void c.diags.error(st.keyword, "value", `No ${st.keyword.text} name specified`);
    const prev = s[key];
    if (prev !== undefined && prev.path !== "")
      return void c.diags.warn(t, "semantic", `${st.keyword.text} already specified - ignoring ${t.text}`);
    s[key] = {
      path: t.text,
      user: st.args[1]?.text ?? null,
      group: st.args[2]?.text ?? null,
      script: prev?.script ?? null,
    };
  },
});
const fifoScript = (key: FifoKey): KeywordSpec<GlobalDraft> => ({
  handle: (c, st, s) => {
    if (s[key]?.script != null && st.args[0] !== undefined)
      return void c.diags.warn(
        st.args[0],
        "semantic",
        `${st.keyword.text} already specified - ignoring ${st.args[0].text}`,
      );
    const cmd = readCommand(c, st, 0, `No ${st.keyword.text} specified`);
    if (cmd === undefined) return;
    // the VRRP side's scripts (the checkers' FIFO script is not one of them)
    if (key !== "lvsNotifyFifo") s.scriptAt ??= atToken(st.keyword);
    const prev: FifoDraft = s[key] ?? { path: "", user: null, group: null, script: null };
    s[key] = { ...prev, script: cmd };
  },
});

const mcastGroup = (key: "mcastGroup4" | "mcastGroup6", family: string): KeywordSpec<GlobalDraft> => ({
  handle: (c, st, s) => {
    const t = arg(c, st, 0, "address");
    const a = t && readAddress(c, t, st.keyword.text, `Can't parse ${st.keyword.text} [${t.text}]. Skipping`);
    if (t === undefined || a === undefined) return;
    const kw = st.keyword.text;
    if ((family === "4") !== !a.includes(":"))
      c.diags.error(t, "value", `${kw} [${a}] is not IPv${family}. Skipping`);
    else if (!isMulticast(a)) c.diags.error(t, "value", `${kw} [${a}] is not multicast. Skipping`);
    else {
      if (family === "6" && !isLinkLocalMulticast6(a))
        c.diags.warn(t, "value", `${kw} [${a}] should be link-local multicast.`);
      s[key] = a;
    }
  },
});

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
  for (const w of st.args)
    if (readInt(c, w, 0, c.onlineCpus - 1, true) === undefined)
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

export const globalKeywords: KeywordTable<GlobalDraft> = {
  router_id: partlyUnsupported<GlobalDraft>(
    str("routerId", "routerid name missing - ignoring"),
    "keepalived uses it in SMTP alerts and SNMP, which Vigil does not have",
  ),
  default_interface: partlyUnsupported<GlobalDraft>(
    str("defaultInterface", "default_interface requires interface name"),
    "every vrrp_instance names its interface; it is used for no static address or VMAC",
  ),
  script_user: {
    handle: (c, st, s) => {
      const t = argOrSkip(c, st, "No script username specified");
      if (t === undefined) return;
      s.scriptUser = t.text;
      if (st.args[1] !== undefined) s.scriptGroup = st.args[1].text;
    },
  },
  enable_script_security: flagOn("enableScriptSecurity"),
  vrrp_mcast_group4: mcastGroup("mcastGroup4", "4"),
  vrrp_mcast_group6: mcastGroup("mcastGroup6", "6"),
  ...garpKeywords<GlobalDraft>("vrrp_", () => ""),
  // its name before keepalived 2.2.3: the same handler, which reports it deprecated first
  vrrp_vmac_garp_intvl: {
    handle: (c, st, s) => {
      c.diags.warn(
        st.keyword,
        "semantic",
        'Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"',
      );
      garpKeywords<GlobalDraft>("vrrp_", () => "").vrrp_garp_extra_if?.handle(c, st, s);
    },
  },
  // global_parser.c: 1 µs to 2^32 - 1 µs.
  vrrp_garp_interval: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readSecondsUs(c, t, 1, UINT32_MAX);
      if (v === undefined) c.diags.error(t, "range", `vrrp_garp_interval '${t.text}' is invalid`);
      else s.garp.intervalUs = v;
    },
  },
  // global_parser.c: 1 µs to 2^32 - 1 µs.
  vrrp_gna_interval: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readSecondsUs(c, t, 1, UINT32_MAX);
      if (v === undefined) c.diags.error(t, "range", `vrrp_gna_interval '${t.text}' is invalid`);
      else s.garp.gnaIntervalUs = v;
    },
  },
  // global_parser.c vrrp_min_garp_handler: `off` changes nothing (an earlier `vrrp_min_garp` stays).
  vrrp_min_garp: trueFalseKeyword<GlobalDraft>(
    (s, v) => {
      if (!v) return;
      s.garp.minGarp = true;
      s.garp.masterRepeat ??= 1;
      s.garp.masterDelayUs ??= 0;
    },
    () => "Invalid value for vrrp_min_garp specified",
  ),
  vrrp_down_timer_adverts: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 1, 100, true);
      if (v === undefined) c.diags.error(t, "range", `Invalid vrrp_down_timer_adverts [1:100] '${t.text}'`);
      else s.downTimerAdverts = v;
    },
  },
  vrrp_lower_prio_no_advert: flag(
    "lowerPrioNoAdvert",
    () => "Invalid value for vrrp_lower_prio_no_advert specified",
  ),
  vrrp_higher_prio_send_advert: flag(
    "higherPrioSendAdvert",
    () => "Invalid value for vrrp_higher_prio_send_advert specified",
  ),
  vrrp_version: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "version");
      if (t === undefined) return;
      const v = readInt(c, t, 2, 3, true);
      if (v === undefined) c.diags.error(t, "range", "VRRP Error: Version must be either 2 or 3");
      else s.version = v as 2 | 3;
    },
  },
  vrrp_check_unicast_src: flagOn("checkUnicastSrc"),
  vrrp_skip_check_adv_addr: flagOn("skipCheckAdvAddr"),
  vrrp_strict: partlyUnsupported<GlobalDraft>(
    flagOn("strict"),
    "its configuration rules apply; the firewall rules of its implied no_accept are not installed",
  ),
  vrrp_notify_priority_changes: flag(
    "notifyPriorityChanges",
    (w) => `Invalid value '${w}' for global vrrp_notify_priority_changes specified`,
  ),
  notify_fifo: fifo("notifyFifo"),
  notify_fifo_script: fifoScript("notifyFifo"),
  vrrp_notify_fifo: fifo("vrrpNotifyFifo"),
  lvs_notify_fifo: partlyUnsupported<GlobalDraft>(fifo("lvsNotifyFifo"), "the checkers write no notify FIFO"),
  lvs_notify_fifo_script: partlyUnsupported<GlobalDraft>(
    fifoScript("lvsNotifyFifo"),
    "the checkers write no notify FIFO",
  ),
  vrrp_notify_fifo_script: fifoScript("vrrpNotifyFifo"),
  vrrp_startup_delay: partlyUnsupported<GlobalDraft>(
    {
      handle: (c, st, s) => {
        const t = arg(c, st);
        if (t === undefined) return;
        const v = readSecondsUs(c, t, 1000, UINT32_MAX);
        if (v === undefined) c.diags.error(t, "range", `vrrp_startup_delay '${t.text}' is invalid`);
        else s.startupDelayUs = v;
      },
    },
    "the node starts at once",
  ),
  dynamic_interfaces: partlyUnsupported<GlobalDraft>(
    {
      // dynamic_interfaces_handler: one option, allow_if_changes; words after it are not read
      handle: (c, st, s) => {
        s.dynamicInterfaces = true;
        const t = st.args[0];
        if (t !== undefined && t.text !== "allow_if_changes")
          c.diags.error(t, "value", `Unknown dynamic_interfaces option '${t.text}'`);
      },
    },
    "only vigil check reads it; the live node needs its interfaces at start",
  ),
  log_unknown_vrids: partlyUnsupported<GlobalDraft>(
    flagOn("logUnknownVrids"),
    "adverts for unknown VRIDs are counted, not logged",
  ),
  checker_log_all_failures: flag(
    "checkerLogAllFailures",
    () => "Invalid value for checker_log_all_failures specified",
  ),

  random_seed: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 0, UINT32_MAX);
      if (v === undefined) c.diags.error(t, "range", `random_seed ${t.text} invalid`);
      else s.randomSeed = v;
    },
  },
  startup_script: partlyUnsupported<GlobalDraft>(
    {
      handle: (c, st, s) => {
        if (s.startupScript !== undefined)
          return void c.diags.warn(st.keyword, "semantic", "startup script already specified");
        const v = readCommand(c, st, 0, "startup script missing");
        if (v === undefined) return;
        s.startupScript = v;
        s.scriptAt ??= atToken(st.keyword);
      },
    },
    "startup scripts are not run",
  ),
  shutdown_script: partlyUnsupported<GlobalDraft>(
    {
      handle: (c, st, s) => {
        if (s.shutdownScript !== undefined)
          return void c.diags.warn(st.keyword, "semantic", "shutdown script already specified");
        const v = readCommand(c, st, 0, "shutdown script missing");
        if (v === undefined) return;
        s.shutdownScript = v;
        s.scriptAt ??= atToken(st.keyword);
      },
    },
    "shutdown scripts are not run",
  ),
  vigil_transport: {
    handle: (c, st, s) => {
      const t = readTransport(c, st);
      if (t !== undefined) s.transport = t;
    },
  },
  // keepalived built with nftables and without iptables (Debian's 2.2.7) takes vrrp_iptables as
  // nftables with a complaint, and does not know vrrp_ipsets at all.
  vrrp_iptables: partlyUnsupported<GlobalDraft>(
    {
      handle: (c, st) =>
        c.diags.error(
          st.keyword,
          "semantic",
          "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option",
        ),
    },
    "no firewall rules are installed",
  ),
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

const named = (ctx: Ctx, st: Statement, what: string): string | undefined => {
  const t = st.args[0];
  // fatal: keepalived exits on vrrp_script / vrrp_track_process / track_file without a name
  if (t === undefined) ctx.diags.fatal(st.keyword, "value", `${what}: missing name`);
  return t?.text;
};

/**
 * keepalived takes exactly one word after `vrrp_instance` / `vrrp_sync_group`: with more
 * (`vrrp_instance vrrp_instance VI_1`, `vrrp_instance VI_1 x`) it reports "must have a name" and
 * skips the whole block. Vigil refuses such a file, since the block would silently vanish.
 */
const singleName = (ctx: Ctx, st: Statement, what: string, skipping: string): string | undefined => {
  if (st.args.length === 1) return (st.args[0] as Statement["keyword"]).text;
  ctx.diags.error(
    st.args[1] ?? st.keyword,
    "value",
    `${what} must have a name${skipping}`,
    st.args.length > 1 ? `one name only; keepalived skips this block` : undefined,
  );
  return undefined;
};

/** Every top-level keyword. Handlers append to the `ConfigDraft`. */
/** The root keywords each configuration has already read (keepalived keeps the first). */
const rootSeen = new WeakMap<ConfigDraft, Set<string>>();

/**
 * A top-level keyword keepalived reads before the rest (global_parser.c init_global_keywords, root
 * keywords), checked as its handler checks it (`check`), and not acted on.
 */
const rootKeyword = (what: string, check?: (c: Ctx, st: Statement, s: ConfigDraft) => void) =>
  check === undefined
    ? unsupported<ConfigDraft>(what)
    : partlyUnsupported<ConfigDraft>({ handle: check }, what);

/**
 * `instance NAME` / `net_namespace NAME` / `net_namespace_ipvs [NAME]`: the first one is kept, a
 * later one reported; a missing name is reported where the handler needs one.
 */
const firstNamed =
  (nameNeeded: boolean) =>
  (c: Ctx, st: Statement, s: ConfigDraft): void => {
    const kw = st.keyword.text;
    const t = st.args[0];
    if (t === undefined && nameNeeded)
      return void c.diags.error(st.keyword, "value", `${kw} name missing - ignoring`);
    const seen = rootSeen.get(s) ?? new Set<string>();
    rootSeen.set(s, seen);
    if (seen.has(kw))
      return void c.diags.error(
        t ?? st.keyword,
        "semantic",
        `Duplicate ${kw} definition ${t?.text ?? ""} - ignoring`,
      );
    seen.add(kw);
  };

/** child_wait_handler: an unsigned number of seconds (its parser stops on a missing one). */
const childWaitTime = (c: Ctx, st: Statement): void => {
  const t = arg(c, st);
  if (t !== undefined && readUnsigned(c, t, 0, UINT32_MAX) === undefined)
    c.diags.error(t, "range", `Invalid child_wait_time ${t.text}`);
};

export const topKeywords: KeywordTable<ConfigDraft> = {
  global_defs: { block: true, handle: (c, st, s) => walk(c, st.block ?? [], globalKeywords, s.global) },
  vrrp_instance: {
    block: true,
    handle: (c, st, s) => {
      const name = singleName(c, st, "vrrp_instance", "");
      if (name === undefined) return;
      const dup = s.instanceByName.get(name);
      if (dup !== undefined) {
        c.diags.error(
          st.args[0] ?? st.keyword,
          "semantic",
          `vrrp instance ${name} already defined`,
          `first defined at line ${dup.at.line}`,
        );
        return;
      }
      const inst = newInstance(name, atToken(st.args[0] ?? st.keyword));
      readInstance(c, st, inst);
      s.instances.push(inst);
      s.instanceByName.set(name, inst);
    },
  },
  vrrp_sync_group: {
    block: true,
    handle: (c, st, s) => {
      const name = singleName(c, st, "vrrp_sync_group", " - skipping");
      if (name === undefined) return;
      const g = {
        name,
        at: atToken(st.keyword),
        members: [],
        track: { interfaces: [], scripts: [], processes: [], files: [] },
        notify: {},
        trackingWeight: false,
        notifyPriorityChanges: false,
      };
      readSyncGroup(c, st, g);
      s.syncGroups.push(g);
    },
  },
  vrrp_script: {
    block: true,
    handle: (c, st, s) => {
      const name = named(c, st, "vrrp_script");
      if (name === undefined) return;
      const d = {
        name,
        line: st.keyword.line,
        at: atToken(st.keyword),
        command: { argv: [], user: null, group: null },
        hasScript: false,
        intervalUs: 1_000_000,
        timeoutUs: 1_000_000,
        timeoutSet: false,
        weight: 0,
        reverse: false,
        rise: 1,
        fall: 1,
        initFail: false,
      };
      readScript(c, st, d);
      s.scripts.push(d);
    },
  },
  vrrp_track_process: {
    block: true,
    handle: (c, st, s) => {
      const name = named(c, st, "vrrp_track_process");
      if (name === undefined) return;
      const d = {
        name,
        line: st.keyword.line,
        at: atToken(st.keyword),
        process: "",
        args: null,
        paramMatch: "exact" as const,
        fullCommand: false,
        weight: 0,
        reverse: false,
        quorum: 1,
        quorumMax: null,
        delayUs: 0,
        forkDelayUs: 0,
        terminateDelayUs: 0,
      };
      readProcess(c, st, d);
      s.processes.push(d);
    },
  },
  track_file: { block: true, handle: (c, st, s) => trackFile(c, st, s) },
  vrrp_track_file: { block: true, handle: (c, st, s) => trackFile(c, st, s) },
  interface_up_down_delays: {
    block: true,
    handle: (c, st, s) => {
      valueBlock(c, st);
      for (const item of st.block ?? []) {
        const [down, up] = item.args;
        if (down === undefined) {
          c.diags.error(
            item.keyword,
            "value",
            `interface_up_down_delays: missing down delay for ${item.keyword.text}`,
          );
          continue;
        }
        const d = readSecondsUs(c, down, 0, 255_000_000);
        const u = up === undefined ? d : readSecondsUs(c, up, 0, 255_000_000);
        if (d !== undefined && u !== undefined)
          s.interfaceDelays.push({ interface: item.keyword.text, downDelayUs: d, upDelayUs: u });
      }
    },
  },
  virtual_server: {
    block: true,
    handle: (c, st, s) => {
      const vs = readVirtualServer(c, st);
      if (vs !== undefined) s.virtualServers.push(vs);
    },
  },
  virtual_server_group: {
    block: true,
    handle: (c, st, s) => {
      const g = readVirtualServerGroup(c, st);
      if (g !== undefined) s.virtualServerGroups.push(g);
    },
  },
  linkbeat_interfaces: unsupportedValueBlock("link state comes from netlink"),
  // keepalived reads these at the top level only (install_keyword_root); inside global_defs they are
  // unknown keywords.
  net_namespace: rootKeyword(
    "Vigil runs in the namespace it is started in (ip netns exec NAME)",
    firstNamed(true),
  ),
  net_namespace_ipvs: rootKeyword("IPVS is not driven", firstNamed(false)),
  namespace_with_ipsets: rootKeyword("no firewall rules are installed"),
  instance: rootKeyword("the pid file is the one --pid-file names", firstNamed(true)),
  use_pid_dir: rootKeyword("the pid file is the one --pid-file names"),
  child_wait_time: rootKeyword("Vigil runs as one process", childWaitTime),
  linkbeat_use_polling: rootKeyword("link state comes from netlink"),
  track_group: unsupportedBlock("track groups are not implemented"),
  static_ipaddress: unsupportedValueBlock("static addresses are not installed"),
  static_routes: unsupportedValueBlock("static routes are not installed"),
  static_rules: unsupportedValueBlock("static rules are not installed"),
  garp_group: unsupportedBlock("GARP groups are not implemented"),
  bfd_instance: unsupportedBlock("BFD is not implemented"),
  SSL: {
    block: true,
    handle: (c, st, s) => {
      if (s.global.ssl !== undefined)
        c.diags.warn(st.keyword, "semantic", "SSL context already specified - replacing");
      const ssl: NonNullable<ConfigDraft["global"]["ssl"]> = {
        password: null,
        ca: null,
        certificate: null,
        key: null,
      };
      walk(c, st.block ?? [], sslKeywords, ssl);
      s.global.ssl = ssl;
    },
  },
};

/**
 * The root `SSL` block (check_parser.c): keepalived's type names in its lines; a repeated item
 * replaces the earlier one. The files are read when the first SSL_GET probe runs (probe-port.ts).
 */
const sslItem = (
  key: "password" | "ca" | "certificate" | "key",
  type: string,
): KeywordSpec<NonNullable<ConfigDraft["global"]["ssl"]>> => ({
  handle: (c, st, ssl) => {
    const t = st.args[0];
    if (t === undefined) return void c.diags.warn(st.keyword, "value", `SSL ${type} missing`);
    if (ssl[key] !== null) c.diags.warn(t, "semantic", `SSL ${type} already specified - replacing`);
    ssl[key] = t.text;
  },
});
const sslKeywords: KeywordTable<NonNullable<ConfigDraft["global"]["ssl"]>> = {
  password: sslItem("password", "password"),
  ca: sslItem("ca", "cafile"),
  certificate: sslItem("certificate", "certfile"),
  key: sslItem("key", "keyfile"),
};

function trackFile(c: Ctx, st: Statement, s: ConfigDraft): void {
  const name = named(c, st, st.keyword.text);
  if (name === undefined) return;
  const d = {
    name,
    line: st.keyword.line,
    at: atToken(st.keyword),
    path: "",
    weight: 1,
    reverse: false,
    initValue: null,
    initOverwrite: false,
  };
  readFileTracker(c, st, d);
  s.files.push(d);
}
