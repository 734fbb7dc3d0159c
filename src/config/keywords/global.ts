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
  trueFalseKeyword,
  UINT32_MAX,
  unsupported,
  unsupportedBlock,
  unsupportedValueBlock,
  valueBlock,
  walk,
} from "../values.ts";
import { unactedGlobalKeywords } from "./global-unacted.ts";
import { readInstance, readVip } from "./instance.ts";
import { readVirtualServer } from "./lvs.ts";
import { readVirtualServerGroup } from "./lvs-group.ts";
import { readRoute, readRule } from "./routes.ts";
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

export const globalKeywords: KeywordTable<GlobalDraft> = {
  router_id: partlyUnsupported<GlobalDraft>(
    str("routerId", "routerid name missing - ignoring"),
    "keepalived uses it in SMTP alerts and SNMP, which Vigil does not have",
  ),
  default_interface: partlyUnsupported<GlobalDraft>(
    str("defaultInterface", "default_interface requires interface name"),
    "every vrrp_instance names its interface; Vigil uses it only for a static address without dev, not for VMAC",
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
  // globals keepalived reads that Vigil does not act on (global-unacted.ts)
  ...unactedGlobalKeywords,
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

/** static_routes / static_rules: keepalived's alloc_value_block, then each line as a static one. */
const staticEntries = <T>(
  read: (ctx: Ctx, toks: readonly Token[]) => T | undefined,
  into: (s: ConfigDraft) => T[],
): KeywordSpec<ConfigDraft> => ({
  block: "optional",
  handle: (c, st, s) => {
    for (const item of valueBlock(c, st)) {
      const entry = read(c, [item.keyword, ...item.args]);
      if (entry !== undefined) into(s).push(entry);
    }
  },
});

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
      if (readProcess(c, st, d)) s.processes.push(d);
    },
  },
  track_file: { block: true, handle: (c, st, s) => trackFile(c, st, s) },
  vrrp_track_file: { block: true, handle: (c, st, s) => trackFile(c, st, s) },
  interface_up_down_delays: {
    block: true,
    handle: (c, st, s) => {
      for (const item of valueBlock(c, st)) {
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
  // vrrp_ipaddress.c alloc_ipaddress(…, static_addr): each line read as a VIP's
  static_ipaddress: staticEntries(
    (c, t) => readVip(c, t, true),
    (s) => s.staticAddresses,
  ),
  static_routes: staticEntries(
    (c, t) => readRoute(c, t, true),
    (s) => s.staticRoutes,
  ),
  static_rules: staticEntries(
    (c, t) => readRule(c, t, true),
    (s) => s.staticRules,
  ),
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
