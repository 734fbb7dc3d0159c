/**
 * Support for the mixed-cluster netns tests (test/netns/mixed-cluster-*.test.ts): Vigil's production
 * daemon (`vigil run`, started through `vigilBin`) beside real keepalived 2.2.7 in one lab. Starts them
 * with their own config, pid files and journal in lab temp dirs and stops them by PID; watches the
 * wire from an observer (tcpdump `-tt -v` on the host's port of the bridge, so neither daemon's
 * namespace is touched); reads addresses; replays Vigil's journals with `vigil replay --verify` and
 * recomputes an instance's counters from a journal (the same recorded inputs through a fresh Node).
 * The timing rules are keepalived's: Skew = (256 − prio) × interval / 256, Master_Down = 3 × interval
 * + Skew, in integer microseconds. Not pure: it is the tests' edge to processes and the host.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VirtualClock } from "../../../src/runtime/clock.ts";
import { MemoryJournal, readJournal } from "../../../src/runtime/journal.ts";
import { Node, type NodeOptions } from "../../../src/runtime/node.ts";
import { nullPorts } from "../../../src/runtime/ports.ts";
import type { NodeSpec } from "../../../src/runtime/spec.ts";
import type { InstanceStats } from "../../../src/runtime/stats.ts";
import { keepalivedPath } from "../../support/env.ts";
import {
  DAEMON_RT_PRIORITY,
  type KeepalivedRun,
  type Lab,
  type LabHost,
  type LabProcess,
  run,
  waitFor,
  withRt,
} from "../../support/lab.ts";
import { vigilBin } from "./vigil.ts";

// ---- timing -------------------------------------------------------------------------------------

/** keepalived's skew time for a backup at `prio` with the master's advert interval. */
export const skewUs = (prio: number, intervalUs: number): number =>
  Math.floor(((256 - prio) * intervalUs) / 256);
/** keepalived's Master_Down interval (down_timer_adverts 3). */
export const masterDownUs = (prio: number, intervalUs: number): number =>
  3 * intervalUs + skewUs(prio, intervalUs);
/**
 * How far a takeover measured on the wire may stray: never earlier than the rule (minus timestamp
 * jitter), later by scheduling delays of a loaded 2-core machine (both daemons, tcpdump, the suite).
 */
export const EARLY_US = 25_000;
export const LATE_US = 300_000;
export const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const nowUs = (): number => Date.now() * 1000;

// ---- the wire -----------------------------------------------------------------------------------

/** One VRRP advert seen by the observer. */
export interface Advert {
  readonly atUs: number;
  readonly src: string;
  readonly dst: string;
  readonly version: number;
  readonly vrid: number;
  readonly prio: number;
  /** The advert interval in centiseconds (v2's whole seconds × 100). */
  readonly intervalCs: number;
  /** IPv4 TTL or IPv6 hop limit. */
  readonly ttl: number;
  /** v2 only: tcpdump's auth type name (`none`, `simple`) and the PASS password. */
  readonly authType?: string;
  readonly password?: string;
  readonly addrs: readonly string[];
}

/**
 * Parses `tcpdump -tt -n -v` output for IP protocol 112 (IPv4 adverts span two lines with -v):
 * `1796002506.141258 IP (tos 0xc0, ttl 255, …) 198.18.1.1 > 224.0.0.18: VRRPv2, Advertisement,
 * vrid 51, prio 100, authtype simple, intvl 1s, length 20, addrs: 198.18.1.100 auth "secret12"`.
 */
export function parseAdverts(text: string): Advert[] {
  const joined = text.replace(/\n[ \t]+/g, " ");
  const out: Advert[] = [];
  const re =
    /^(\d+)\.(\d{6}) IP6? .*?(?:ttl|hlim) (\d+),.*?\) (\S+) > (\S+): VRRPv(\d), Advertisement, vrid (\d+), prio (\d+), (?:authtype (\S+), )?intvl (\d+)(s|cs), length \d+(?:, addrs(?:\(\d+\))?: ([^"]*?))?(?: auth "([^"]*)")?\s*$/;
  for (const line of joined.split("\n")) {
    const m = line.match(re);
    if (m === null) continue;
    const [, sec = "0", usec = "0", ttl = "0", src = "", dst = "", ver = "0", vrid = "0", prio = "0"] = m;
    const intvl = Number(m[10]);
    out.push({
      atUs: Number(sec) * 1_000_000 + Number(usec),
      src,
      dst,
      version: Number(ver),
      vrid: Number(vrid),
      prio: Number(prio),
      intervalCs: m[11] === "s" ? intvl * 100 : intvl,
      ttl: Number(ttl),
      ...(m[9] === undefined ? {} : { authType: m[9] }),
      ...(m[13] === undefined ? {} : { password: m[13] }),
      addrs: (m[12] ?? "").split(/[ ,]+/).filter((a) => a !== ""),
    });
  }
  return out;
}

/**
 * Parses `tcpdump -tt -n -x` output for IPv4 UDP datagrams carrying VRRP messages (Vigil's UDP
 * transport): the payload after the IP and UDP headers, decoded from the hex dump.
 */
export function parseUdpAdverts(text: string): Advert[] {
  const out: Advert[] = [];
  const blocks = text.split(/\n(?=\d+\.\d{6} )/);
  for (const b of blocks) {
    const head = b.match(/^(\d+)\.(\d{6}) IP (\d+\.\d+\.\d+\.\d+)\.\d+ > (\d+\.\d+\.\d+\.\d+)\.\d+: UDP/);
    if (head === null) continue;
    const hex = [...b.matchAll(/^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4} ?)+)/gm)]
      .map((m) => (m[1] ?? "").replace(/\s/g, ""))
      .join("");
    const bytes = Buffer.from(hex, "hex");
    const ihl = ((bytes[0] ?? 0) & 0x0f) * 4;
    const v = bytes.subarray(ihl + 8);
    if (v.length < 8) continue;
    const version = (v[0] ?? 0) >> 4;
    const naddr = v[3] ?? 0;
    const addrs: string[] = [];
    for (let i = 0; i < naddr; i++) addrs.push([...v.subarray(8 + 4 * i, 12 + 4 * i)].join("."));
    out.push({
      atUs: Number(head[1]) * 1_000_000 + Number(head[2]),
      src: head[3] ?? "",
      dst: head[4] ?? "",
      version,
      vrid: v[1] ?? 0,
      prio: v[2] ?? 0,
      intervalCs: version === 3 ? v.readUInt16BE(4) & 0x0fff : (v[5] ?? 0) * 100,
      ttl: bytes[8] ?? 0,
      addrs,
    });
  }
  return out;
}

/** Starts tcpdump on the bridge's port of `h` (sees all `h` sends and receives), `-tt -v` (+ extra). */
export const observe = (
  lab: Lab,
  h: LabHost,
  extra: readonly string[] = [],
  filter?: string,
): Promise<LabProcess> =>
  lab.tcpdump({ ns: lab.bridgeNs, ifname: `h${h.index}` }, ["-tt", "-v", ...extra], filter);

/**
 * A takeover measured on the wire: the first advert from `to` after `afterUs`, and the advert of
 * `from` it follows — the first priority-0 one (graceful) or the last one before it (hard kill);
 * `history`: `from`'s last adverts before the new master's first (at most 4), for a failure's message.
 */
export function takeover(
  adverts: readonly Advert[],
  from: string,
  to: string,
  afterUs: number,
  mode: "term" | "kill",
):
  | {
      readonly deltaUs: number;
      readonly fromAdvert: Advert;
      readonly toAdvert: Advert;
      readonly history: readonly Advert[];
    }
  | undefined {
  const later = adverts.filter((a) => a.atUs >= afterUs);
  const i = later.findIndex((a) => a.src === to && a.prio > 0);
  if (i < 0) return undefined;
  const toAdvert = later[i] as Advert;
  const before = adverts.filter((a) => a.src === from && a.atUs <= toAdvert.atUs);
  const fromAdvert =
    mode === "term" ? before.find((a) => a.prio === 0 && a.atUs >= afterUs - 1_000_000) : before.at(-1);
  if (fromAdvert === undefined) return undefined;
  return { deltaUs: toAdvert.atUs - fromAdvert.atUs, fromAdvert, toAdvert, history: before.slice(-4) };
}

// ---- hosts --------------------------------------------------------------------------------------

/** Addresses (without prefix length) on a host's interface, both families. */
export async function addressesOn(lab: Lab, h: LabHost, ifname = h.ifname): Promise<string[]> {
  const out = await lab.nsRun(h.ns, "ip", ["-o", "addr", "show", "dev", ifname]);
  return [...out.matchAll(/ inet6? ([0-9a-f.:]+)\//g)].map((m) => m[1] ?? "");
}

/** Waits until `addr` is (or is no longer) on a host's interface; resolves with the wall time (µs) or undefined. */
export async function awaitAddress(
  lab: Lab,
  h: LabHost,
  addr: string,
  present: boolean,
  timeoutMs: number,
  ifname = h.ifname,
): Promise<number | undefined> {
  try {
    return await waitFor(
      `${addr} ${present ? "on" : "off"} ${h.ns}`,
      async () => ((await addressesOn(lab, h, ifname)).includes(addr) === present ? nowUs() : undefined),
      timeoutMs,
      50,
    );
  } catch {
    return undefined;
  }
}

/** The number of matches of `re` in a text (a process's output). */
export const countLines = (text: string, re: RegExp): number =>
  text.match(new RegExp(re.source, "gm"))?.length ?? 0;

/** Waits until `re` has matched `n` times; true if it did within `timeoutMs` (never throws). */
export async function sawLine(p: LabProcess, re: RegExp, timeoutMs: number, n = 1): Promise<boolean> {
  try {
    await waitFor(
      `${p.label}: ${re} ×${n}`,
      () => (countLines(p.output, re) >= n ? true : undefined),
      timeoutMs,
      25,
    );
    return true;
  } catch {
    return false;
  }
}

// ---- Vigil --------------------------------------------------------------------------------------

export interface VigilRun {
  readonly proc: LabProcess;
  readonly dir: string;
  readonly configPath: string;
  readonly journalDir: string;
}

/** Starts `vigil run -f CONF --journal DIR --pid-file FILE [extraArgs]` in a host's namespace (a fresh temp dir). */
export function startVigil(
  lab: Lab,
  h: LabHost,
  config: string,
  label = `vigil@${h.ns}`,
  extraArgs: readonly string[] = [],
  /** SCHED_RR priority (lab.ts `withRt`); null: ordinary scheduling. */
  rtPriority = DAEMON_RT_PRIORITY,
): VigilRun {
  const dir = lab.tempDir();
  const configPath = join(dir, "keepalived.conf");
  writeFileSync(configPath, config);
  const journalDir = join(dir, "journal");
  const args = [
    "run",
    "-f",
    configPath,
    "--journal",
    journalDir,
    "--pid-file",
    join(dir, "vigil.pid"),
    ...extraArgs,
  ];
  const [file, ...argv] = withRt([process.execPath, vigilBin, ...args], rtPriority);
  const proc = lab.spawn(h.ns, file, argv, { label });
  return { proc, dir, configPath, journalDir };
}

/** SIGKILL by PID: nothing more is sent, the VIPs stay where they are. */
export async function killVigil(v: VigilRun): Promise<void> {
  if (v.proc.pid !== undefined) process.kill(v.proc.pid, "SIGKILL");
  await v.proc.waitExit(5_000);
}

/** The journal segments of a run, in order. */
export const segments = (v: VigilRun): string[] =>
  readdirSync(v.journalDir)
    .filter((f) => /\.\d{6}\.jsonl$/.test(f))
    .sort()
    .map((f) => join(v.journalDir, f));

export interface Verified {
  readonly segment: string;
  readonly code: number;
  readonly stderr: string;
}

/** `vigil replay --verify` on every segment of each run, in order (a run never started: none). */
export async function verifyJournal(...runs: readonly (VigilRun | undefined)[]): Promise<Verified[]> {
  const out: Verified[] = [];
  for (const segment of runs.flatMap((v) => (v === undefined ? [] : segments(v)))) {
    const r = await run(process.execPath, [vigilBin, "replay", "--verify", segment], 90_000);
    out.push({ segment, code: r.code, stderr: r.stderr });
  }
  return out;
}

/**
 * An instance's counters as the node had them at the end of the run: the last segment's recorded
 * inputs applied to a node restored from its checkpoint (or fresh), timers from the journal.
 */
export function journalStats(v: VigilRun, instance: string): InstanceStats | undefined {
  const last = segments(v).at(-1);
  if (last === undefined) return undefined;
  const parsed = readJournal(readFileSync(last, "utf8"));
  if (!parsed.ok) throw new Error(`${last}: ${parsed.error.message}`);
  const clock = new VirtualClock();
  const opts: NodeOptions = {
    clock,
    ports: nullPorts(),
    journal: new MemoryJournal(),
    timerSource: "journal",
    configHash: parsed.header.configHash,
    vigilVersion: parsed.header.vigil,
  };
  const spec = parsed.header.spec as NodeSpec;
  const cp = parsed.checkpoint;
  if (cp !== undefined) clock.advanceTo(cp.atUs);
  const node = cp === undefined ? new Node(spec, opts) : Node.restore(spec, cp as never, opts);
  for (const l of parsed.lines) {
    if (l.t !== "in") continue;
    clock.advanceTo(Math.max(clock.nowUs(), l.ev.atUs));
    node.applyRecorded(l.ev);
  }
  const stats = node.stats(instance);
  return stats === undefined ? undefined : { ...stats };
}

// ---- keepalived ---------------------------------------------------------------------------------

/**
 * Starts keepalived (`-n -l -D --vrrp`) with a private /tmp: `unshare -m` and the run's temp dir
 * bind-mounted on /tmp, so its SIGUSR2 / JSON dumps (always written to /tmp) land in that dir and
 * never meet another keepalived's. The config and pid files live there too (as /tmp/… inside).
 */
export function keepalivedPrivateTmp(
  lab: Lab,
  h: LabHost,
  config: string,
  label = `keepalived@${h.ns}`,
): KeepalivedRun {
  if (keepalivedPath === undefined) throw new Error("keepalived is not installed");
  const dir = lab.tempDir();
  const configPath = join(dir, "keepalived.conf");
  writeFileSync(configPath, config);
  const ka = `${keepalivedPath} -n -l -D -f /tmp/keepalived.conf -p /tmp/k.pid -r /tmp/v.pid -c /tmp/c.pid --vrrp`;
  const [file, ...args] = withRt([
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    `mount --bind ${dir} /tmp && exec ${ka}`,
  ]);
  const proc = lab.spawn(h.ns, file, args, { label });
  return { proc, dir, configPath };
}

/** keepalived's JSON signal number (`--signum=JSON`), asked once. */
let jsonSignum: Promise<number> | undefined;

/** keepalived's JSON dump (SIGRTMIN+2, `--signum=JSON`) of a run started by `keepalivedPrivateTmp`. */
export async function keepalivedJson(
  ka: KeepalivedRun,
): Promise<Array<{ data: Record<string, unknown>; stats: Record<string, number> }>> {
  jsonSignum ??= run(keepalivedPath ?? "keepalived", ["--signum=JSON"]).then((r) => Number(r.stdout.trim()));
  const signum = await jsonSignum;
  const file = join(ka.dir, "keepalived.json");
  writeFileSync(file, "");
  if (ka.proc.pid !== undefined) process.kill(ka.proc.pid, signum);
  const text = await waitFor(
    `${file}`,
    () => {
      const t = readFileSync(file, "utf8");
      try {
        return t.trim() === "" ? undefined : (JSON.parse(t) as unknown);
      } catch {
        return undefined;
      }
    },
    5_000,
  );
  return text as Array<{ data: Record<string, unknown>; stats: Record<string, number> }>;
}

// ---- configurations -----------------------------------------------------------------------------

export interface InstanceOptions {
  readonly name?: string;
  readonly ifname?: string;
  /** BACKUP unless given (keepalived's advice for priority < 255). */
  readonly state?: "MASTER" | "BACKUP";
  readonly vrid: number;
  readonly prio: number;
  /** As written in the config, e.g. `1`, `0.05`. */
  readonly advertInt: string;
  /** Absent: keepalived's default (vrrp_version, else 2). */
  readonly version?: 2 | 3;
  readonly vips: readonly string[];
  readonly authPass?: string;
  readonly nopreempt?: boolean;
  readonly unicast?: { readonly src: string; readonly peers: readonly string[] };
  /** Extra lines inside the instance block (track_script, vigil_transport, …). */
  readonly extra?: readonly string[];
}

/** One `vrrp_instance` block. */
export const instanceBlock = (o: InstanceOptions): string =>
  [
    `vrrp_instance ${o.name ?? "VI_1"} {`,
    `    state ${o.state ?? "BACKUP"}`,
    `    interface ${o.ifname ?? "eth0"}`,
    `    virtual_router_id ${o.vrid}`,
    `    priority ${o.prio}`,
    `    advert_int ${o.advertInt}`,
    ...(o.version === undefined ? [] : [`    version ${o.version}`]),
    ...(o.nopreempt ? ["    nopreempt"] : []),
    ...(o.authPass === undefined
      ? []
      : ["    authentication {", "        auth_type PASS", `        auth_pass ${o.authPass}`, "    }"]),
    ...(o.unicast === undefined
      ? []
      : [
          `    unicast_src_ip ${o.unicast.src}`,
          "    unicast_peer {",
          ...o.unicast.peers.map((p) => `        ${p}`),
          "    }",
        ]),
    ...(o.extra ?? []).map((l) => `    ${l}`),
    "    virtual_ipaddress {",
    ...o.vips.map((v) => `        ${v}`),
    "    }",
    "}",
  ].join("\n");

/** A whole config: `global_defs` (router_id, script security as root) and the given blocks. */
export const configText = (routerId: string, ...blocks: readonly string[]): string =>
  [
    "global_defs {",
    `    router_id ${routerId}`,
    "    enable_script_security",
    "    script_user root",
    "}",
    ...blocks,
    "",
  ].join("\n");
