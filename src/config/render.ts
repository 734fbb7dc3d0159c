/**
 * Renders a validated `Config` for people and machines: stable JSON (keys sorted at every level,
 * every default filled in, durations in the units their names carry) and a compact readable text
 * form. Used by `vigil dump`. Pure.
 */
import { bytesToUnicode } from "./bytes.ts";
import type { Command, Config, TrackRef, Vip, VirtualServer, VrrpInstance } from "./types.ts";

/** Deterministic JSON: object keys sorted recursively, two-space indent, trailing newline. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

/**
 * Keys sorted; strings — byte strings from the configuration, one char per byte — as the Unicode
 * text their bytes spell (valid UTF-8 decoded, any other byte as U+DC80+byte, recoverable exactly
 * with `unicodeToBytes`), so a UTF-8 name reads as written and the JSON stays valid.
 */
function sortKeys(value: unknown): unknown {
  if (typeof value === "string") return bytesToUnicode(value);
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort())
      out[bytesToUnicode(k)] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

const seconds = (us: number): string => `${us / 1e6}s`;
const cmd = (c: Command | null): string =>
  c === null
    ? "-"
    : c.argv.map((a) => (/[\s'"\\]/.test(a) || a === "" ? JSON.stringify(a) : a)).join(" ") +
      (c.user === null ? "" : ` (as ${c.user}${c.group === null ? "" : `:${c.group}`})`);
const refs = (rs: readonly TrackRef[]): string =>
  rs.map((r) => `${r.name} weight ${r.weight}${r.reverse ? " reverse" : ""}`).join(", ");
const vip = (v: Vip): string =>
  [
    `${v.address}/${v.prefixLength}`,
    `dev ${v.dev}`,
    `scope ${v.scope}`,
    v.broadcast === null ? "" : `brd ${v.broadcast}`,
    v.label === null ? "" : `label ${v.label}`,
    v.peer === null ? "" : `peer ${v.peer}`,
    v.noTrack ? "no_track" : "",
    v.preferredLft === null ? "" : `preferred_lft ${v.preferredLft}`,
  ]
    .filter((s) => s !== "")
    .join(" ");

function instanceText(i: VrrpInstance): string[] {
  const lines = [
    `vrrp_instance ${i.name}`,
    `  interface ${i.interface ?? "(none)"}  vrid ${i.vrid}  ${i.family === "ipv4" ? "IPv4" : "IPv6"}  VRRPv${i.version}  transport ${i.transport.kind === "udp" ? `udp port ${i.transport.port}` : "raw"}`,
    `  priority ${i.basePriority}  want ${i.wantState}  advert ${i.advertIntervalCs} cs  down timer ${i.downTimerAdverts} adverts`,
    `  ${i.nopreempt ? "nopreempt" : "preempt"}  preempt_delay ${seconds(i.preemptDelayUs)}  accept ${i.accept}  strict ${i.strict}`,
    `  auth ${i.auth.type === "none" ? "none" : `${i.auth.type} ${"*".repeat(i.auth.pass.length)}`}`,
  ];
  if (i.unicastPeers.length > 0)
    lines.push(
      `  unicast from ${i.unicastSrcIp ?? "(primary)"} to ${i.unicastPeers.map((p) => p.address).join(", ")}  ttl ${i.unicastTtl}`,
    );
  else lines.push(`  multicast ${i.mcastGroup} from ${i.mcastSrcIp ?? "(primary)"}`);
  for (const v of i.vips) lines.push(`  vip ${vip(v)}`);
  for (const v of i.excludedVips) lines.push(`  excluded vip ${vip(v)}`);
  // keepalived's own text for them (its data dump's "Virtual Routes" / "Virtual Rules" lines)
  for (const r of i.routes) lines.push(`  route ${r.text}`);
  for (const r of i.rules) lines.push(`  rule ${r.text}`);
  for (const [label, rs] of [
    ["track_interface", i.trackInterfaces],
    ["track_script", i.trackScripts],
    ["track_process", i.trackProcesses],
    ["track_file", i.trackFiles],
  ] as const)
    if (rs.length > 0) lines.push(`  ${label} ${refs(rs)}`);
  for (const [k, c] of Object.entries(i.notify)) if (c !== null) lines.push(`  notify ${k}: ${cmd(c)}`);
  if (i.syncGroup !== null) lines.push(`  sync group ${i.syncGroup}`);
  lines.push(
    `  garp master ${i.garp.masterRepeat}x, again after ${seconds(i.garp.masterDelayUs)}; lower prio ${i.garp.lowerPrioRepeat}x after ${seconds(i.garp.lowerPrioDelayUs)}; refresh ${seconds(i.garp.masterRefreshUs)}`,
  );
  return lines;
}

/** The readable form of `vigil dump` without `--json`. */
export function configText(c: Config): string {
  const g = c.global;
  const out: string[] = [
    `# ${c.source} (config id ${c.configId})`,
    `global_defs`,
    `  router_id ${g.routerId ?? "(hostname)"}  vrrp_version ${g.version}  strict ${g.strict}  script security ${g.enableScriptSecurity}`,
    `  multicast ${g.mcastGroup4} / ${g.mcastGroup6}  default transport ${g.transport.kind === "udp" ? `udp port ${g.transport.port}` : "raw"}`,
  ];
  if (g.notifyFifo !== null) out.push(`  notify_fifo ${g.notifyFifo.path}`);
  if (g.vrrpNotifyFifo !== null) out.push(`  vrrp_notify_fifo ${g.vrrpNotifyFifo.path}`);
  for (const s of c.scripts)
    out.push(
      `vrrp_script ${s.name}: ${cmd(s.command)} every ${seconds(s.intervalUs)} timeout ${seconds(s.timeoutUs)} weight ${s.weight}${s.reverse ? " reverse" : ""} rise ${s.rise} fall ${s.fall}`,
    );
  for (const p of c.processes)
    out.push(
      `vrrp_track_process ${p.name}: ${p.process}${p.args === null ? "" : ` ${p.args}`} weight ${p.weight} quorum ${p.quorum}..${p.quorumMax ?? "∞"}`,
    );
  for (const f of c.files)
    out.push(`track_file ${f.name}: ${f.path} weight ${f.weight}${f.reverse ? " reverse" : ""}`);
  for (const v of c.staticAddresses) out.push(`static address ${vip(v)}`);
  for (const r of c.staticRoutes) out.push(`static route ${r.text}`);
  for (const r of c.staticRules) out.push(`static rule ${r.text}`);
  for (const i of c.instances) out.push(...instanceText(i));
  for (const s of c.syncGroups) {
    out.push(`vrrp_sync_group ${s.name}: ${s.members.join(", ")}`);
    for (const [k, cm] of Object.entries(s.notify)) if (cm !== null) out.push(`  notify ${k}: ${cmd(cm)}`);
  }
  for (const v of c.virtualServers) {
    const key =
      v.key.kind === "address"
        ? `${v.key.address} ${v.key.port ?? ""}`.trim()
        : v.key.kind === "fwmark"
          ? `fwmark ${v.key.mark}`
          : `group ${v.key.name}`;
    const options = [
      v.persistenceTimeoutS === null ? "" : ` persistence ${v.persistenceTimeoutS}s`,
      v.persistenceGranularity === null ? "" : ` granularity ${v.persistenceGranularity}`,
      v.persistenceEngine === null ? "" : ` pe ${v.persistenceEngine}`,
      v.onePacket ? " ops" : "",
      v.schedulerFlags.length === 0 ? "" : ` flags ${v.schedulerFlags.join(",")}`,
    ].join("");
    const k = v.key;
    const entries =
      k.kind !== "group"
        ? ""
        : ` (member ${k.member} of ${k.entries
            .map((e) =>
              e.kind === "fwmark"
                ? `fwmark ${e.mark}${e.family === null ? "" : e.family === "ipv4" ? " inet" : " inet6"}`
                : `${e.first === e.last ? e.first : `${e.first}-${e.last}`}${e.port === 0 ? "" : `:${e.port}`}`,
            )
            .join(", ")})`;
    out.push(
      `virtual_server ${key}: ${v.protocol} ${v.scheduler} ${v.method} delay_loop ${seconds(v.delayLoopUs)}${options}${entries}`,
    );
    // A checker's timing is shown where it differs from the virtual server's (inherited or its own).
    const timing = (c: VirtualServer["realServers"][number]["checkers"][number]): string => {
      const t = [
        c.delayLoopUs === v.delayLoopUs ? "" : `delay_loop ${seconds(c.delayLoopUs)}`,
        c.connectTimeoutUs === v.connectTimeoutUs ? "" : `connect_timeout ${seconds(c.connectTimeoutUs)}`,
        c.retry === (v.retry ?? (c.kind === "DNS_CHECK" ? 3 : c.kind === "MISC_CHECK" ? 0 : 1))
          ? ""
          : `retry ${c.retry}`,
        c.alpha === v.alpha ? "" : c.alpha ? "alpha" : "no alpha",
        c.logAllFailures ? "log_all_failures" : "",
      ].filter((x) => x !== "");
      return t.length === 0 ? c.kind : `${c.kind} (${t.join(" ")})`;
    };
    for (const r of v.realServers)
      out.push(
        `  real_server ${r.address} ${r.port ?? ""} weight ${r.weight} ${r.method}: ${r.checkers.map(timing).join(", ") || "no checker"}`,
      );
  }
  return `${out.join("\n")}\n`;
}
