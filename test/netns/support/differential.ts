/**
 * Support for the differential conformance test (test/netns/keepalived-conformance.test.ts): the
 * same keepalived.conf files run on real keepalived in a lab and in Vigil `Node`s on the simulated
 * network under a `VirtualClock`. This module holds both edges: the real side's small tools (tcpdump
 * `-tt` parsing, the FIFO reader, the notify script, the hard kill by PID) and the simulated world
 * (nodes built by `nodeFromConfig`, every advert on the wire, FIFO lines and notify argv recorded
 * with virtual times). Not pure (it drives processes and Nodes); the simulated side is deterministic.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/types.ts";
import { createNotifyPort } from "../../../src/effects/notify.effect.ts";
import { createProcessRunner, type ProcessRunner } from "../../../src/effects/process-runner.ts";
import { nodeScriptEnv } from "../../../src/effects/script-security.ts";
import { VirtualClock } from "../../../src/runtime/clock.ts";
import { nodeFromConfig } from "../../../src/runtime/config.adapter.ts";
import type { Node } from "../../../src/runtime/node.ts";
import { RecordingPorts } from "../../../src/runtime/ports.ts";
import { Prng } from "../../../src/runtime/prng.ts";
import { SimNetwork } from "../../../transports/sim.transport.ts";
import type { Transport } from "../../../transports/transport.ts";
import { type KeepalivedRun, type Lab, type LabProcess, mustRun } from "../../support/lab.ts";

/** One VRRP advert seen on the wire: time (µs), sender, VRID, priority. */
export interface WirePacket {
  readonly atUs: number;
  readonly src: string;
  readonly vrid: number;
  readonly prio: number;
}

/** Parses `tcpdump -tt -n` lines such as `1763771234.567890 IP 198.18.5.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 150, …`. */
export function parseTcpdumpVrrp(text: string): WirePacket[] {
  const out: WirePacket[] = [];
  const re = /^(\d+)\.(\d{6}) IP6? (\S+) > \S+: VRRPv\d, Advertisement, vrid (\d+), prio (\d+)/;
  for (const line of text.split("\n")) {
    const m = line.match(re);
    if (m === null) continue;
    const [, sec = "0", usec = "0", src = "", vrid = "0", prio = "0"] = m;
    out.push({ atUs: Number(sec) * 1_000_000 + Number(usec), src, vrid: Number(vrid), prio: Number(prio) });
  }
  return out;
}

/** Non-empty lines of a text. */
export const lines = (text: string): string[] => text.split("\n").filter((l) => l.trim() !== "");

/**
 * A root-owned, mode-0755 temp dir of the lab holding a FIFO and a notify script that appends its
 * argv to `notify.log` (keepalived's script security accepts it: every path component is root's
 * and not group/other-writable; /tmp itself is sticky).
 */
export async function notifyDir(
  lab: Lab,
): Promise<{ dir: string; fifo: string; script: string; log: string }> {
  const dir = lab.tempDir();
  chmodSync(dir, 0o755);
  const fifo = join(dir, "vrrp.fifo");
  await mustRun("mkfifo", ["-m", "0600", fifo]);
  const log = join(dir, "notify.log");
  const script = join(dir, "notify.sh");
  writeFileSync(script, `#!/bin/sh\necho "$@" >> ${log}\n`, { mode: 0o755 });
  return { dir, fifo, script, log };
}

/** Starts a reader on the FIFO (`cat`, in a lab namespace so the lab stops it); it ends at EOF. */
export const fifoReader = (lab: Lab, ns: string, fifo: string): LabProcess =>
  lab.spawn(ns, "cat", [fifo], { label: `fifo reader ${fifo}` });

/** The notify script's lines so far (the file may not exist yet). */
export function readLog(path: string): string[] {
  try {
    return lines(readFileSync(path, "utf8"));
  } catch {
    return [];
  }
}

/**
 * Kills a keepalived hard, by PID, so that nothing more is sent: the parent is stopped first (so it
 * cannot respawn the VRRP child), then the VRRP child (PID from its pid file) and the parent are
 * SIGKILLed. Returns the wall time (µs) of the kill.
 */
export async function hardKill(run: KeepalivedRun): Promise<number> {
  const parent = run.proc.pid;
  if (parent === undefined) throw new Error("keepalived has no pid");
  const child = Number(readFileSync(join(run.dir, "v.pid"), "utf8").trim());
  if (!Number.isSafeInteger(child) || child <= 1) throw new Error(`bad VRRP child pid '${child}'`);
  process.kill(parent, "SIGSTOP");
  const atUs = Date.now() * 1000;
  process.kill(child, "SIGKILL");
  process.kill(parent, "SIGKILL");
  await run.proc.waitExit(5_000);
  return atUs;
}

export const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the configurations (one text for both sides) ---------------------------------------------

/** A v2 multicast node for the takeover scenarios; with `notify`, FIFO + generic notify script. */
export const takeoverConf = (prio: number, net: string, notify?: { fifo: string; script: string }): string =>
  [
    "global_defs {",
    `    router_id prio${prio}`,
    ...(notify
      ? [`    vrrp_notify_fifo ${notify.fifo}`, "    enable_script_security", "    script_user root"]
      : []),
    "}",
    "vrrp_instance VI_1 {",
    "    state BACKUP",
    "    interface eth0",
    "    virtual_router_id 51",
    `    priority ${prio}`,
    "    advert_int 1",
    "    version 2",
    ...(notify ? [`    notify ${notify.script}`] : []),
    `    virtual_ipaddress {\n        ${net}.100/24\n    }`,
    "}",
    "",
  ].join("\n");

/** Options of `nodeConf`: one v2 multicast VI_1 node (VRID 51, advert_int 1) with optional extras. */
export interface NodeConfOptions {
  readonly prio: number;
  readonly net: string;
  readonly notify?: { readonly fifo: string; readonly script: string };
  readonly nopreempt?: boolean;
  /** `preempt_delay` as written in the config (seconds, may be decimal). */
  readonly preemptDelay?: string;
  /** A tracked `vrrp_script chk` (interval 1, fall 1, rise 1) with this path and weight. */
  readonly script?: { readonly path: string; readonly weight: number };
}

/** Like `takeoverConf`, plus nopreempt / preempt_delay / a tracked script (used by the "more" file). */
export const nodeConf = (o: NodeConfOptions): string =>
  [
    "global_defs {",
    `    router_id prio${o.prio}`,
    ...(o.notify ? [`    vrrp_notify_fifo ${o.notify.fifo}`] : []),
    ...(o.notify || o.script ? ["    enable_script_security", "    script_user root"] : []),
    "}",
    ...(o.script
      ? [
          "vrrp_script chk {",
          `    script "${o.script.path}"`,
          "    interval 1",
          "    fall 1",
          "    rise 1",
          `    weight ${o.script.weight}`,
          "}",
        ]
      : []),
    "vrrp_instance VI_1 {",
    "    state BACKUP",
    "    interface eth0",
    "    virtual_router_id 51",
    `    priority ${o.prio}`,
    "    advert_int 1",
    "    version 2",
    ...(o.nopreempt ? ["    nopreempt"] : []),
    ...(o.preemptDelay !== undefined ? [`    preempt_delay ${o.preemptDelay}`] : []),
    ...(o.notify ? [`    notify ${o.notify.script}`] : []),
    ...(o.script ? ["    track_script {\n        chk\n    }"] : []),
    `    virtual_ipaddress {\n        ${o.net}.100/24\n    }`,
    "}",
    "",
  ].join("\n");

/** One node with sync group G1 {VI_C on eth0, VI_D on eth1}, FIFO and notify scripts everywhere. */
export const syncConf = (
  viCPriority: number,
  net: string,
  net2: string,
  n: { fifo: string; script: string },
): string =>
  [
    "global_defs {",
    "    router_id sync",
    `    vrrp_notify_fifo ${n.fifo}`,
    "    enable_script_security",
    "    script_user root",
    "}",
    "vrrp_sync_group G1 {",
    "    group {\n        VI_C\n        VI_D\n    }",
    `    notify ${n.script}`,
    "}",
    ...[
      ["VI_C", "eth0", 61, viCPriority, `${net}.110/24`],
      ["VI_D", "eth1", 62, 100, `${net2}.110/24`],
    ].map(([name, ifname, vrid, priority, vip]) =>
      [
        `vrrp_instance ${name} {`,
        "    state BACKUP",
        `    interface ${ifname}`,
        `    virtual_router_id ${vrid}`,
        `    priority ${priority}`,
        "    advert_int 1",
        `    notify ${n.script}`,
        `    virtual_ipaddress {\n        ${vip}\n    }`,
        "}",
      ].join("\n"),
    ),
    "",
  ].join("\n");

// ---- the simulated side ---------------------------------------------------------------------

export interface SimHostSpec {
  readonly name: string;
  /** The same keepalived.conf file the real keepalived ran. */
  readonly configPath: string;
  readonly interfaces: ReadonlyArray<{
    readonly ifname: string;
    readonly segment: string;
    readonly ipv4: string;
  }>;
}

export interface SimTransition {
  readonly atUs: number;
  readonly node: string;
  readonly actor: string;
  readonly from: string;
  readonly to: string;
}

/** Vigil Nodes for real config files on one simulated network under one VirtualClock. */
export class SimWorld {
  readonly clock = new VirtualClock();
  readonly net = new SimNetwork(this.clock, new Prng(1));
  readonly nodes = new Map<string, Node>();
  readonly wire: WirePacket[] = [];
  readonly fifo = new Map<string, string[]>();
  readonly transitions: SimTransition[] = [];
  /** Per host: what its real notify scripts appended to their log, in the order they ran. */
  readonly #notify = new Map<string, string[]>();
  readonly #transports = new Map<string, Transport>();
  readonly #onTransition: (t: SimTransition, world: SimWorld) => void;

  constructor(hosts: readonly SimHostSpec[], onTransition: (t: SimTransition, world: SimWorld) => void) {
    this.#onTransition = onTransition;
    for (const h of hosts) this.#add(h);
  }

  #add(h: SimHostSpec): void {
    for (const i of h.interfaces) this.net.attach(h.name, i);
    const loaded = loadConfig(h.configPath, { configId: h.name });
    if (loaded.config === undefined)
      throw new Error(`${h.configPath}: ${loaded.diagnostics.map((d) => d.message).join("; ")}`);
    const inner = this.net.transport(h.name);
    const firstIp = h.interfaces[0]?.ipv4 ?? "";
    const transport: Transport = {
      inbound$: inner.inbound$,
      close: () => inner.close(),
      send: (out) => {
        const src = out.src ?? h.interfaces.find((i) => i.ifname === out.ifname)?.ipv4 ?? firstIp;
        this.wire.push({ atUs: this.clock.nowUs(), src, vrid: out.bytes[1] ?? -1, prio: out.bytes[2] ?? -1 });
        inner.send(out);
      },
    };
    this.#transports.set(h.name, transport);
    const fifo: string[] = [];
    this.fifo.set(h.name, fifo);
    const ports = new RecordingPorts(() => this.clock.nowUs());
    const recording = ports.notify;
    // The production notify port runs the real scripts of the config (they append their argv to
    // notify.log beside them, see notifyDir); FIFO lines are recorded.
    const notified: string[] = [];
    this.#notify.set(h.name, notified);
    const runner = serialRunner(createProcessRunner(), notifyLogOf(loaded.config), notified);
    const real = createNotifyPort({ config: loaded.config, runner, env: nodeScriptEnv(), log: () => {} });
    const node = nodeFromConfig(
      loaded.config,
      {
        clock: this.clock,
        // Virtual time runs ahead of the real scripts: never time a notify out in a simulated run.
        effectTimeoutUs: 3_600 * 1_000_000,
        ports: {
          ...ports,
          notify: {
            notify: (n) => real.notify(n),
            fifo: (line) => recording.fifo(line),
          },
        },
        transport,
        onApplied: (_ev, outs) => {
          for (const o of outs) {
            // The FIFO line as emitted (its mailbox may still wait behind a real notify script).
            if (o.type === "fifo") fifo.push(o.line);
            if (o.type !== "state") continue;
            const t = { atUs: this.clock.nowUs(), node: h.name, actor: o.actor, from: o.from, to: o.to };
            this.transitions.push(t);
            this.#onTransition(t, this);
          }
        },
      },
      { primaryAddress: (ifname) => h.interfaces.find((i) => i.ifname === ifname)?.ipv4 },
    );
    this.nodes.set(h.name, node);
  }

  node(name: string): Node {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** The simulated SIGKILL: the node stops at once and sends nothing more (no priority-0 advert). */
  hardKill(name: string): void {
    this.node(name).close();
    this.#transports.get(name)?.close();
  }

  /** Runs `change` `delayUs` from now (virtual). */
  after(delayUs: number, change: () => void): void {
    this.net.at(this.clock.nowUs() + delayUs, change);
  }

  start(): void {
    for (const n of this.nodes.values()) n.start();
  }

  /**
   * The argv the real notify scripts of `name` recorded during this world, once every notify the
   * nodes emitted has run and exited (they run one at a time, in the order emitted).
   */
  async notifyLines(name: string): Promise<string[]> {
    await Promise.all([...this.nodes.values()].map((n) => n.settled()));
    await scripts.chain;
    return [...(this.#notify.get(name) ?? [])];
  }
}

/** notifyDir's convention: the generic notify script's directory holds the log it appends to. */
function notifyLogOf(config: Config): string | undefined {
  const script = config.instances.find((i) => i.notify.generic !== null)?.notify.generic?.argv[0];
  return script === undefined ? undefined : join(script.slice(0, script.lastIndexOf("/")), "notify.log");
}

/**
 * One queue for the notify scripts of every simulated world in this process: in virtual time a whole
 * run's notifies are emitted within a real millisecond (keepalived's were seconds apart), and several
 * worlds share one script and log. Each script starts only after the previous one exited, so the
 * lines the log gained while it ran are its own, in the order the nodes emitted them.
 */
const scripts: { chain: Promise<unknown> } = { chain: Promise.resolve() };

/** A process runner on that queue; what each script appends to `log` goes to `sink`. */
function serialRunner(inner: ProcessRunner, log: string | undefined, sink: string[]): ProcessRunner {
  return {
    start(spec) {
      let before = 0;
      const started = scripts.chain.then(() => {
        before = log === undefined ? 0 : readLog(log).length;
        return inner.start(spec);
      });
      scripts.chain = started.then(
        (h) =>
          h.exit.then(() => {
            if (log !== undefined) sink.push(...readLog(log).slice(before));
          }),
        () => undefined,
      );
      return started;
    },
    killAll: (signal) => inner.killAll(signal),
    get running() {
      return inner.running;
    },
  };
}

/**
 * Tolerance on keepalived's measured takeover times. The figure is a real-time difference of two
 * tcpdump timestamps taken on the backup's interface; it includes keepalived's timer wake-up and
 * scheduling delay of the VRRP process (a few ms, tens under load on this 2-core machine). ±150 ms
 * is generous for that and still meaningful: it is below the 195 ms between the skews of priority
 * 100 and 150 and far below one advert interval, so an off-by-one interval or a wrong skew fails.
 */
export const TOLERANCE_US = 150_000;
export const S = 1_000_000;
/** Delay between an observed state change and the next scripted event (both sides). */
export const SETTLE_MS = 1_500;
