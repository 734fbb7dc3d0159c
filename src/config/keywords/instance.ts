/**
 * The `vrrp_instance NAME { … }` keyword table (docs/keepalived-reference.md §2.4), including every
 * `virtual_ipaddress` option and `unicast_peer` options (`virtual_routes` and `virtual_rules` are
 * read in routes.ts), filling an `InstanceDraft`. Range errors use keepalived's texts. Pure.
 */

import type { InstanceDraft, VipDraft } from "../draft.ts";
import type { Token } from "../lexer.ts";
import type { Statement } from "../parser.ts";
import {
  arg,
  atToken,
  blockLines,
  type Ctx,
  familyOf,
  ignoredWord,
  isLinkLocalMulticast6,
  isMulticast,
  type KeywordTable,
  partlyUnsupported,
  readAddress,
  readInt,
  readIpPrefix,
  readSecondsUs,
  readUnsigned,
  trueFalseKeyword,
  UINT32_MAX,
  unsupported,
  valueBlock,
  walk,
} from "../values.ts";
import { routeKeywords } from "./routes.ts";
import { flag, flagOn, garpKeywords, notifyKeywords, readTransport, trackKeywords } from "./shared.ts";

const VIP_FLAGS: Readonly<Record<string, keyof VipDraft>> = {
  home: "home",
  // keepalived's `-nodad` keeps DAD on for an IPv6 VIP (it sets IFA_F_NODAD otherwise); a bare
  // `nodad` is not one of its words ("Unknown configuration entry").
  "-nodad": "noDad",
  mngtmpaddr: "mngTmpAddr",
  noprefixroute: "noPrefixRoute",
  autojoin: "autoJoin",
  no_track: "noTrack",
  use_vmac: "useVmac",
};
const SCOPES = new Set(["global", "site", "link", "host", "nowhere"]);
const VIP_VALUE_OPTS = new Set(["brd", "broadcast", "dev", "scope", "label", "peer", "preferred_lft"]);

/**
 * One line of `virtual_ipaddress { … }` (or, `statics`, of `static_ipaddress`: keepalived's
 * alloc_ipaddress with static_addr, where `track_group NAME` is a word and `use_vmac` is not).
 */
export function readVip(ctx: Ctx, toks: readonly Token[], statics = false): VipDraft | undefined {
  const first = toks[0] as Token;
  const p = readIpPrefix(ctx, first);
  if (p === undefined) return undefined;
  // explicit fields, not a spread of `p`: spreading here was 60x slower (megamorphic clone)
  const vip: VipDraft = {
    address: p.address,
    family: p.family,
    prefixLength: p.prefixLength,
    broadcast: null,
    dev: null,
    scope: "global",
    label: null,
    peer: null,
    useVmac: false,
    home: false,
    noDad: false,
    mngTmpAddr: false,
    noPrefixRoute: false,
    autoJoin: false,
    noTrack: false,
    preferredLft: null,
    line: first.line,
    at: atToken(first),
    written: first.text,
  };
  let devSet = false;
  let havePeer = false;
  let trackGroup: string | undefined;
  for (let i = 1; i < toks.length; i++) {
    const t = toks[i] as Token;
    if (statics && t.text === "track_group") {
      const v = toks[++i];
      if (v === undefined) {
        ctx.diags.error(t, "value", `No ${t.text} parameter specified for ${first.text}`);
        return undefined;
      }
      if (trackGroup !== undefined) {
        // alloc_ipaddress stops reading the line there; the address stays
        ctx.diags.error(v, "value", `track_group ${v.text} is a duplicate`);
        break;
      }
      trackGroup = v.text;
      ctx.diags.warn(
        t,
        "unsupported",
        `'track_group ${v.text}' is parsed but not acted on by Vigil yet (track groups are not implemented): the group's instances do not track the address's interface`,
      );
      continue;
    }
    const flagKey = statics && t.text === "use_vmac" ? undefined : VIP_FLAGS[t.text];
    if (flagKey !== undefined) {
      (vip as Record<string, unknown>)[flagKey] = true;
      if (flagKey === "useVmac")
        ctx.diags.warn(
          t,
          "unsupported",
          `VIP option 'use_vmac' is parsed but not acted on by Vigil yet (no VMAC)`,
        );
      continue;
    }
    if (!VIP_VALUE_OPTS.has(t.text)) {
      ctx.diags.warn(
        t,
        "unknown-keyword",
        `Unknown configuration entry '${t.text}' for ip address - ignoring`,
      );
      continue;
    }
    const v = toks[i + 1];
    i++;
    if (v === undefined) {
      // alloc_ipaddress: a keyword without its value drops the whole address
      ctx.diags.error(t, "value", `No ${t.text} parameter specified for ${first.text}`);
      return undefined;
    }
    switch (t.text) {
      // vrrp_ipaddress.c alloc_ipaddress: a broadcast is IPv4 (inet_pton), `+` or `-`, on an IPv4
      // address; anything else drops the whole VIP.
      case "brd":
      case "broadcast":
        if (vip.family === "ipv6") {
          ctx.diags.error(
            v,
            "value",
            // keepalived names the keyword here, not its value (strvec_slot(strvec, i) before i++).
            `VRRP is trying to assign a broadcast ${t.text} to the IPv6 address ${first.text} !!?? WTF... skipping VIP...`,
          );
          return undefined;
        }
        if (v.text !== "+" && v.text !== "-" && familyOf(v.text) !== "ipv4") {
          ctx.diags.error(
            v,
            "value",
            `VRRP is trying to assign invalid broadcast ${v.text}. skipping VIP...`,
          );
          return undefined;
        }
        vip.broadcast = v.text;
        break;
      case "dev":
        if (devSet) {
          ctx.diags.error(t, "value", `Cannot specify ipaddress device more than once for ${first.text}`);
          return undefined;
        }
        devSet = true;
        vip.dev = v.text;
        break;
      case "scope":
        // a scope name, or a number 0..255 (keepalived reads rt_scopes the way ip does)
        if (SCOPES.has(v.text) || (/^\d+$/.test(v.text) && Number(v.text) <= 255)) vip.scope = v.text;
        else
          ctx.diags.warn(
            v,
            "value",
            `Invalid scope '${v.text}' specified for ${first.text} - ignoring`,
            "global, site, link, host, nowhere or 0..255",
          );
        break;
      case "label":
        // IFNAMSIZ - 1
        if (v.text.length >= 16) {
          ctx.diags.error(
            v,
            "value",
            `Address label ${v.text} is longer than maximum length 15 - removing address`,
          );
          return undefined;
        }
        vip.label = v.text;
        break;
      case "peer": {
        if (havePeer) {
          // alloc_ipaddress `continue`s past its `i++`: the value is read again as an option word
          ctx.diags.error(v, "value", `Peer ${v.text} - another peer has already been specified`);
          i--;
          break;
        }
        if (familyOf(v.text) === undefined) {
          // parse_ipaddress (no prefix allowed), then alloc_ipaddress's own line; the VIP stays
          ctx.diags.error(v, "value", `VRRP parsed invalid IP ${v.text}. skipping IP...`);
          ctx.diags.error(v, "value", `Invalid peer address ${v.text}`);
          break;
        }
        if (familyOf(v.text) !== vip.family) {
          ctx.diags.error(v, "value", `Peer address ${v.text} does not match address family`);
          break;
        }
        const full = vip.family === "ipv4" ? 32 : 128;
        if (vip.prefixLength !== full)
          ctx.diags.error(
            v,
            "value",
            "Cannot specify address prefix when specifying peer address - ignoring",
          );
        // the address takes the peer's prefix length, which is the full one
        vip.prefixLength = full;
        vip.peer = v.text;
        havePeer = true;
        break;
      }
      case "preferred_lft":
        if (v.text === "forever") vip.preferredLft = "forever";
        else {
          // vrrp_ipaddress.c alloc_ipaddress: read_unsigned, then its own line
          const n = readUnsigned(ctx, v, 0, 0xffffffff, true);
          if (n !== undefined) vip.preferredLft = n;
          else ctx.diags.error(v, "value", `preferred_lft ${v.text} is invalid`);
        }
        break;
    }
  }
  // alloc_ipaddress, after its options
  if (vip.broadcast !== null && havePeer) {
    ctx.diags.error(
      first,
      "value",
      "Cannot specify broadcast and peer addresses - ignoring broadcast address",
    );
    vip.broadcast = null;
  } else if ((vip.broadcast === "+" || vip.broadcast === "-") && vip.prefixLength > 30) {
    ctx.diags.error(first, "value", `Address prefix length ${vip.prefixLength} too long for broadcast`);
    vip.broadcast = null;
  }
  if (vip.family === "ipv6") {
    if (vip.scope !== "global" && vip.scope !== "0") {
      ctx.diags.error(
        first,
        "value",
        `Cannot specify scope for IPv6 addresses (${first.text}) - ignoring scope`,
      );
      vip.scope = "global";
    }
    if (vip.label !== null) {
      ctx.diags.error(
        first,
        "value",
        `Cannot specify label for IPv6 addresses (${first.text}) - ignoring label`,
      );
      vip.label = null;
    }
  }
  return vip;
}

function readVips(ctx: Ctx, st: Statement, s: InstanceDraft, into: VipDraft[]): void {
  const lines = valueBlock(ctx, st);
  s.vipsAt ??= atToken(st.keyword);
  for (const item of lines) {
    const vip = readVip(ctx, [item.keyword, ...item.args]);
    if (vip !== undefined) into.push(vip);
  }
}

const located = <T>(value: T, t: Token) => ({ value, at: atToken(t) });

export const instanceKeywords: KeywordTable<InstanceDraft> = {
  state: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      // keepalived: MASTER, once set, sticks; a later BACKUP is reported and ignored
      if (t.text === "BACKUP" && s.state?.value === "MASTER")
        c.diags.warn(t, "semantic", `(${s.name}) state previously set as MASTER - ignoring BACKUP`);
      else if (t.text === "MASTER" || t.text === "BACKUP") s.state = located(t.text, t);
      else
        c.diags.error(
          t,
          "value",
          `(${s.name}) unknown state '${t.text}', defaulting to BACKUP`,
          "MASTER or BACKUP",
        );
    },
  },
  interface: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "interface name");
      if (t === undefined) return;
      if (t.text === "lo")
        c.diags.error(t, "value", `(${s.name}) cannot use a loopback interface (lo) for vrrp - ignoring`);
      else s.interface = located(t.text, t);
    },
  },
  virtual_router_id: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "VRID");
      if (t === undefined) return;
      const v = readUnsigned(c, t, 1, 255);
      if (v === undefined)
        c.diags.error(t, "range", `(${s.name}): VRID '${t.text}' not valid - must be between 1 & 255`);
      else s.vrid = located(v, t);
    },
  },
  priority: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "priority");
      if (t === undefined) return;
      const v = readUnsigned(c, t, 1, 255);
      if (v === undefined) {
        c.diags.error(
          t,
          "range",
          `(${s.name}) Priority not valid! must be between 1 & 255. Using default 100`,
        );
        // vrrp_prio_handler sets 100 itself: `state MASTER` no longer makes it the owner (255)
        s.priority = located(100, t);
      } else s.priority = located(v, t);
    },
  },
  advert_int: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "interval");
      if (t === undefined) return;
      const v = readSecondsUs(c, t, 10_000, 255_000_000);
      if (v !== undefined) s.advertIntUs = located(v, t);
      else
        c.diags.error(
          t,
          "range",
          `(${s.name}) Advert interval (${t.text}) not valid! Must be > 0 - ignoring`,
        );
    },
  },
  version: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "version");
      if (t === undefined) return;
      const v = readInt(c, t, 2, 3, true);
      if (v === undefined)
        return void c.diags.error(t, "range", `(${s.name}): Version must be either 2 or 3`);
      // keepalived keeps the first version and one deduced from an earlier IPv6 address (as 0)
      const deduced = s.version?.value ?? (s.vips[0]?.family === "ipv6" && v === 2 ? 0 : undefined);
      if (deduced !== undefined && deduced !== v)
        c.diags.warn(
          t,
          "semantic",
          `(${s.name}) vrrp_version ${v} conflicts with configured or deduced version ${deduced}; ignoring.`,
        );
      else s.version = located(v as 2 | 3, t);
    },
  },
  // vrrp_parser.c: nopreempt, preempt, accept and no_accept read no argument.
  nopreempt: {
    handle: (c, st, s) => {
      s.nopreempt = located(true, st.keyword);
      ignoredWord(c, st, "turns it on");
    },
  },
  preempt: {
    handle: (c, st, s) => {
      s.nopreempt = located(false, st.keyword);
      ignoredWord(c, st, "turns nopreempt off");
    },
  },
  preempt_delay: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "delay");
      if (t === undefined) return;
      const v = readSecondsUs(c, t, 0, 1000_000_000);
      if (v !== undefined) s.preemptDelayUs = located(v, t);
      else c.diags.error(t, "range", `(${s.name}) Preempt_delay not valid! must be between 0-1000`);
    },
  },
  authentication: {
    block: true,
    handle: (c, st, s) => {
      let type: "PASS" | "AH" | undefined;
      let pass: string | undefined;
      for (const item of blockLines(c, st, "keywords")) {
        const v = item.args[0];
        if (item.keyword.text === "auth_type") {
          if (v?.text === "PASS" || v?.text === "AH") type = v.text;
          // fatal without a value (keepalived exits on the missing parameter)
          else
            (v === undefined ? c.diags.fatal : c.diags.error).call(
              c.diags,
              v ?? item.keyword,
              "value",
              `(${s.name}) unknown authentication type '${v?.text ?? ""}'`,
            );
          s.authTypeAt = atToken(item.keyword);
        } else if (item.keyword.text === "auth_pass") {
          if (v === undefined) c.diags.error(item.keyword, "value", "auth_pass: missing password");
          else if (v.text.length > 8) {
            c.diags.warn(
              v,
              "value",
              "Truncating auth_pass to 8 characters",
              "VRRPv2 passwords are at most 8 bytes",
            );
            pass = v.text.slice(0, 8);
          } else pass = v.text;
        } else c.diags.warn(item.keyword, "unknown-keyword", `Unknown keyword '${item.keyword.text}'`);
      }
      if (type !== undefined) s.auth = located({ type, pass: pass ?? "" }, st.keyword);
      else if (pass !== undefined)
        c.diags.warn(st.keyword, "semantic", `(${s.name}) auth_pass without auth_type - ignoring`);
    },
  },
  virtual_ipaddress: { block: true, handle: (c, st, s) => readVips(c, st, s, s.vips) },
  virtual_ipaddress_excluded: { block: true, handle: (c, st, s) => readVips(c, st, s, s.excludedVips) },
  unicast_src_ip: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "address");
      const a =
        t &&
        readAddress(
          c,
          t,
          `(${s.name}) unicast_src_ip`,
          `Configuration error: VRRP instance[${s.name}] malformed src address[${t.text}]. Skipping...`,
        );
      if (t !== undefined && a !== undefined) s.unicastSrcIp = located(a, t);
    },
  },
  mcast_src_ip: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "address");
      const a =
        t &&
        readAddress(
          c,
          t,
          `(${s.name}) mcast_src_ip`,
          `Configuration error: VRRP instance[${s.name}] malformed src address[${t.text}]. Skipping...`,
        );
      if (t !== undefined && a !== undefined) s.mcastSrcIp = located(a, t);
    },
  },
  mcast_dst_ip: {
    handle: (c, st, s) => {
      const t = arg(c, st, 0, "address");
      const a =
        t &&
        readAddress(
          c,
          t,
          `(${s.name}) mcast_dst_ip`,
          `(${s.name}) malformed mcast dest address ${t.text}. Skipping...`,
        );
      if (t === undefined || a === undefined) return;
      const v6 = familyOf(a) === "ipv6";
      if (v6 ? !isLinkLocalMulticast6(a) : !isMulticast(a))
        c.diags.error(
          t,
          "value",
          `(${s.name}) mcast_dst_ip ${a} not${v6 ? " link-local" : ""} multicast. Skipping...`,
        );
      else s.mcastDstIp = located(a, t);
    },
  },
  unicast_peer: {
    block: true,
    handle: (c, st, s) => {
      const lines = valueBlock(c, st);
      s.unicastConfigured = true;
      for (const item of lines) {
        const a = readAddress(
          c,
          item.keyword,
          `(${s.name}) unicast_peer`,
          `Configuration error: VRRP instance[${s.name}] malformed unicast peer address[${item.keyword.text}]. Skipping...`,
        );
        if (a === undefined) continue;
        const peer = {
          address: a,
          minTtl: null as number | null,
          maxTtl: null as number | null,
          at: atToken(item.keyword),
        };
        // vrrp_data.c alloc_unicast_peer: OPTION VALUE pairs; a value is read before its option's
        // name is looked at (a bad number skips the pair whatever its name); an unknown name or a
        // missing value ends the line.
        for (let i = 0; i < item.args.length; i += 2) {
          const k = item.args[i] as Token;
          const v = item.args[i + 1];
          if (v === undefined) {
            c.diags.error(k, "value", `(${s.name}) ${k.text} is missing a value`);
            break;
          }
          const n = readUnsigned(c, v, 0, 255);
          if (n === undefined) continue;
          if (k.text !== "min_ttl" && k.text !== "max_ttl") {
            c.diags.error(k, "unknown-keyword", `(${s.name}) unknown unicast_peer option ${k.text}`);
            break;
          }
          peer[k.text === "min_ttl" ? "minTtl" : "maxTtl"] = n;
        }
        if ((peer.minTtl ?? 0) > (peer.maxTtl ?? 255))
          c.diags.error(
            item.keyword,
            "semantic",
            `(${s.name}) min_ttl ${peer.minTtl ?? 0} > max_ttl ${peer.maxTtl ?? 255} - all packets will be discarded`,
          );
        s.unicastPeers.push(peer);
      }
    },
  },
  unicast_ttl: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 0, 255);
      if (v === undefined)
        c.diags.error(t, "range", `(${s.name}): TTL '${t.text}' not valid - must be between 0 & 255`);
      else s.unicastTtl = v;
    },
  },
  unicast_fault_no_peer: flagOn("unicastFaultNoPeer"),
  check_unicast_src: flagOn("checkUnicastSrc"),
  // vrrp_parser.c: any boolean word sets the flag, `off` included; another word leaves it unset.
  skip_check_adv_addr: trueFalseKeyword<InstanceDraft>(
    (s) => {
      s.skipCheckAdvAddr = true;
    },
    (w, s) => `(${s.name}) invalid skip_check_adv_addr ${w} specified`,
  ),
  strict_mode: partlyUnsupported<InstanceDraft>(
    flag("strict", (w, s: InstanceDraft) => `(${s.name}) invalid strict_mode ${w} specified`),
    "its configuration rules apply; the firewall rules of its implied no_accept are not installed",
  ),
  dont_track_primary: flagOn("dontTrackPrimary"),
  promote_secondaries: partlyUnsupported<InstanceDraft>(
    flagOn("promoteSecondaries"),
    "the interface's promote_secondaries setting is not changed",
  ),
  lower_prio_no_advert: flag(
    "lowerPrioNoAdvert",
    (w, s) => `(${s.name}) invalid lower_prio_no_advert ${w} specified`,
  ),
  higher_prio_send_advert: flag(
    "higherPrioSendAdvert",
    (w, s) => `(${s.name}) invalid higher_prio_send_advert ${w} specified`,
  ),
  notify_priority_changes: flag(
    "notifyPriorityChanges",
    (w, s) => `(${s.name}) Invalid value '${w}' for notify_priority_changes specified`,
  ),
  accept: {
    handle: (c, st, s) => {
      ignoredWord(c, st, "turns it on");
      s.accept = located(true, st.keyword);
    },
  },
  // Vigil installs no firewall: the VIPs always accept traffic, which is what `accept` asks for.
  no_accept: partlyUnsupported<InstanceDraft>(
    {
      handle: (c, st, s) => {
        s.accept = located(false, st.keyword);
        ignoredWord(c, st, "turns accept off");
      },
    },
    "no firewall rules are installed to drop traffic to the VIPs",
  ),
  down_timer_adverts: {
    handle: (c, st, s) => {
      const t = arg(c, st);
      if (t === undefined) return;
      const v = readUnsigned(c, t, 1, 100, true);
      if (v === undefined)
        c.diags.error(t, "range", `(${s.name}): Invalid down_timer_adverts [1:100] '${t.text}'`);
      else s.downTimerAdverts = located(v, t);
    },
  },
  vigil_transport: {
    handle: (c, st, s) => {
      const t = readTransport(c, st);
      if (t !== undefined) s.transport = t;
    },
  },
  ...garpKeywords<InstanceDraft>("", (s) => `(${s.name}): `),
  ...trackKeywords<InstanceDraft>(),
  ...notifyKeywords<InstanceDraft>(),
  use_vmac: unsupported("no VMAC interfaces are created"),
  vmac_xmit_base: unsupported("no VMAC interfaces are created"),
  use_vmac_addr: unsupported("no VMAC interfaces are created"),
  use_ipvlan: unsupported("no ipvlan interfaces are created"),
  vrf: partlyUnsupported<InstanceDraft>({ handle: (c, st) => void arg(c, st) }, "VRFs are not supported"),
  track_src_ip: unsupported("the source address is not tracked"),
  old_unicast_checksum: {
    handle: (c, st, s) => {
      s.unicastConfigured = true;
      const mode = st.args[0];
      if (mode !== undefined && mode.text !== "never")
        c.diags.error(mode, "value", `(${s.name}) Unknown old_unicast_chksum mode ${mode.text} - ignoring`);
      unsupported<InstanceDraft>("legacy v3 unicast checksums are not generated").handle(c, st, s);
    },
  },
  ...routeKeywords,
  native_ipv6: unsupported("the family is taken from the addresses"),
  // Not acted on, but their values are checked as keepalived checks them (vrrp_debug_handler,
  // kernel_rx_buf_size_handler), so `vigil check` fails where `keepalived -t` does.
  debug: partlyUnsupported<InstanceDraft>(
    {
      handle: (c, st, s) => {
        const t = arg(c, st);
        if (t !== undefined && readUnsigned(c, t, 0, 4, true) === undefined)
          c.diags.error(t, "range", `(${s.name}) Debug value '${t.text}' not valid; must be between 0-4`);
      },
    },
    "keepalived ignores it too",
  ),
  kernel_rx_buf_size: partlyUnsupported<InstanceDraft>(
    {
      handle: (c, st, s) => {
        const t = st.args[0];
        if (t === undefined || st.args.length !== 1 || readUnsigned(c, t, 0, UINT32_MAX) === undefined)
          c.diags.error(t ?? st.keyword, "range", `(${s.name}) invalid kernel_rx_buf_size specified`);
      },
    },
    "socket buffer sizes are left to the kernel",
  ),
  linkbeat_use_polling: partlyUnsupported<InstanceDraft>(
    {
      handle: (c, st, s) =>
        c.diags.warn(
          st.keyword,
          "semantic",
          `(${s.name}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block`,
        ),
    },
    "link state comes from netlink",
  ),
  // vrrp_lvs_syncd_handler: two lines, the second indented under the first's text.
  lvs_sync_daemon_interface: partlyUnsupported<InstanceDraft>(
    {
      handle: (c, st, s) => {
        const msg = `(${s.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`;
        c.diags.warn(st.keyword, "semantic", msg);
        const indent = " ".repeat(6 + Math.abs(s.name.length - 2));
        c.diags.warn(st.keyword, "semantic", `${indent}Please use global lvs_sync_daemon`);
        arg(c, st);
      },
    },
    "IPVS sync daemon is not run",
  ),
};

export function readInstance(ctx: Ctx, st: Statement, s: InstanceDraft): void {
  walk(ctx, st.block ?? [], instanceKeywords, s);
}
