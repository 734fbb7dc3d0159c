/**
 * One simulated host: a node's daemon (the same `Node` as `vigil run`, built by nodeFromConfig)
 * with recording effect ports, a journal, and what the host itself holds across daemon restarts —
 * the addresses on its interfaces (a crashed daemon's VIPs stay there unless the host went down),
 * link states, the exit status each vrrp_script would return, process counts for
 * vrrp_track_process and track_file values. The host drives the trackers as the daemon's probes
 * do: each script every `interval` (first run at start), processes, files and links at start and on
 * every change. A restart builds a fresh node from the configuration alone, or resumes from the last
 * periodic checkpoint (`Node.restore`) and is then told, as journaled `address` inputs, which
 * addresses of its restored MASTERs the host lost meanwhile. The node runs the LVS checkers of its
 * configuration against the simulated real servers (lvs-sim.ts) and the host keeps its IPVS table
 * (gone with the host, kept by a kill -9); a resumed node's probes that were in flight at the
 * checkpoint are run again (the new daemon has no socket or script of the dead one). Not pure (it
 * runs a node on the shared VirtualClock), deterministic.
 */

import { filter } from "rxjs";
import type { Config } from "../src/config/types.ts";
import { canonicalAddress } from "../src/protocol/address.ts";
import type { Checkpoint } from "../src/runtime/checkpoint.ts";
import type { Clock, TimerHandle } from "../src/runtime/clock.ts";
import { configHash, nodeFromConfig, specFromConfig } from "../src/runtime/config.adapter.ts";
import type { Input } from "../src/runtime/input.ts";
import { JOURNAL_FORMAT, JOURNAL_VERSION, type Journal } from "../src/runtime/journal.ts";
import { Node, type Output } from "../src/runtime/node.ts";
import { type EffectPorts, RecordingPorts, type VipAddress } from "../src/runtime/ports.ts";
import type { Prng } from "../src/runtime/prng.ts";
import { type NodeSpec, vipAddresses } from "../src/runtime/spec.ts";
import { VIGIL_VERSION } from "../src/version.ts";
import type { SimNetwork } from "../transports/sim.transport.ts";
import type { Datagram, Transport } from "../transports/transport.ts";
import { IpvsTable, type SimRealServers, simChecksPort } from "./lvs-sim.ts";
import type { NodeDecl } from "./scenario.schema.ts";
import { TeeJournal } from "./tee-journal.ts";

/** What the host reports to the runner. */
export interface HostObserver {
  /** After each applied input: its seq, outputs, and the state changes the journal recorded for it. */
  applied(host: SimHost, seq: number, outputs: readonly Output[], journaled: ReadonlySet<string>): void;
  /** The addresses on the host changed (after the input that changed them, or a crash). */
  addressesChanged(host: SimHost, added: readonly string[], removed: readonly string[]): void;
  /** The host's IPVS table changed (timeline text, lvs-sim.ts `IpvsTable`). */
  ipvsChanged(host: SimHost, changes: readonly string[]): void;
  /** Everything an input (or a crash) changed has been reported. */
  settled(host: SimHost): void;
}

/** Test-only: true drops a datagram before `host`'s node sees it (a deliberately broken variant). */
export type InboundFilter = (host: SimHost, datagram: Datagram) => boolean;

/** A journal for one incarnation of the node: on disk (--journal-dir) or nowhere. */
export type JournalFactory = (node: string, incarnation: number, resumed: boolean) => Journal | undefined;

const NONE: ReadonlySet<string> = new Set();

const vipKey = (a: VipAddress): string => `${a.address}/${a.prefixLength}`;

export class SimHost {
  readonly name: string;
  /** The spec of the configuration in force (a reload replaces it). */
  spec: NodeSpec;
  node: Node | undefined;
  alive = false;
  incarnation = 0;
  /** Output hash of each incarnation, in order. */
  readonly outputHashes: string[] = [];
  readonly addresses = new Set<string>();
  readonly scriptExit = new Map<string, number>();
  readonly processes = new Map<string, number>();
  readonly files = new Map<string, number>();
  readonly links = new Map<string, boolean>();
  lastCheckpoint: Checkpoint | undefined;
  /** The kernel's IPVS table on this host (outlives a killed daemon, not the host). */
  readonly ipvs = new IpvsTable();
  /** The node's own clock (node-clock.ts, or the shared one). */
  readonly #clock: Clock;
  readonly #net: SimNetwork;
  #config: Config;
  readonly #decl: NodeDecl;
  readonly #observer: HostObserver;
  readonly #journals: JournalFactory;
  readonly #dropInbound: InboundFilter | undefined;
  readonly #servers: SimRealServers;
  readonly #lvsPrng: Prng;
  #probeTimers: TimerHandle[] = [];
  #added: string[] = [];
  /** IPVS table changes of the input being applied (reported after its state and address changes). */
  #ipvsChanges: string[] = [];
  #removed: string[] = [];

  constructor(
    decl: NodeDecl,
    config: Config,
    deps: {
      clock: Clock;
      net: SimNetwork;
      observer: HostObserver;
      journals: JournalFactory;
      servers: SimRealServers;
      /** This host's warmup draws. */
      lvsPrng: Prng;
      dropInbound?: InboundFilter;
    },
  ) {
    this.name = decl.name;
    this.#decl = decl;
    this.#config = config;
    this.#clock = deps.clock;
    this.#net = deps.net;
    this.#observer = deps.observer;
    this.#journals = deps.journals;
    this.#dropInbound = deps.dropInbound;
    this.#servers = deps.servers;
    this.#lvsPrng = deps.lvsPrng;
    this.spec = specFromConfig(config, this.#adapter());
    for (const i of decl.interfaces) this.links.set(i.ifname, true);
    for (const p of config.processes) this.processes.set(p.name, decl.processes[p.name] ?? p.quorum);
    for (const f of config.files) this.files.set(f.name, f.initValue ?? 0);
    for (const s of config.scripts) this.scriptExit.set(s.name, 0);
  }

  /** How the host derives its node's spec: its interfaces' primary addresses, LVS checkers on. */
  #adapter(): { lvs: true; primaryAddress: (ifname: string, family: 4 | 6) => string | undefined } {
    return { lvs: true, primaryAddress: (ifname, family) => this.#primary(ifname, family) };
  }

  #primary(ifname: string, family: 4 | 6): string | undefined {
    const i = this.#decl.interfaces.find((x) => x.ifname === ifname);
    return family === 4 ? i?.ipv4 : i?.ipv6;
  }

  #ports(): EffectPorts {
    const rec = new RecordingPorts(() => this.#clock.nowUs());
    return {
      ...rec,
      vip: {
        add: (addresses) => {
          for (const a of addresses)
            if (!this.addresses.has(vipKey(a))) {
              this.addresses.add(vipKey(a));
              this.#added.push(vipKey(a));
            }
          return rec.vip.add(addresses);
        },
        remove: (addresses) => {
          for (const a of addresses) if (this.addresses.delete(vipKey(a))) this.#removed.push(vipKey(a));
          return rec.vip.remove(addresses);
        },
      },
      log: { log: () => {} },
    };
  }

  /**
   * Starts the daemon: from nothing but its configuration, or from the last checkpoint. A resumed
   * node is shown to `restored` as the checkpoint left it, before the host reports what changed.
   */
  start(resume: boolean, restored?: (node: Node) => void): void {
    if (this.alive) return;
    this.incarnation++;
    const tee = new TeeJournal(
      this.#journals(this.name, this.incarnation, resume && this.lastCheckpoint !== undefined),
    );
    const opts = {
      clock: this.#clock,
      ports: this.#ports(),
      journal: tee,
      transport: this.#transport(),
      checks: simChecksPort({
        clock: this.#clock,
        servers: this.#servers,
        prng: this.#lvsPrng,
        specs: () => this.node?.spec.virtualServers ?? [],
        config: () => this.#config,
        ipvs: (vs, spec, ops) => {
          this.#ipvsChanges.push(...this.ipvs.apply(vs, spec, ops));
        },
      }),
      onApplied: (ev: { seq: number }, outputs: readonly Output[]) => {
        const journaled = tee.lastInSeq === ev.seq && tee.lastOutSeq === ev.seq ? tee.states : NONE;
        this.#observer.applied(this, ev.seq, outputs, journaled);
        this.#flushAddresses();
        this.#flushIpvs();
        this.#observer.settled(this);
      },
    };
    this.alive = true;
    if (resume && this.lastCheckpoint !== undefined) {
      tee.inner?.append(this.#headerLine());
      tee.inner?.startSegment?.(this.lastCheckpoint);
      this.node = Node.restore(this.spec, this.lastCheckpoint, opts);
      restored?.(this.node);
      this.node.resumeProbes();
      // Virtual servers the checkpoint has idle (never started) start now, as at a fresh start.
      this.node.startCheckers();
    } else {
      this.node = nodeFromConfig(this.#config, opts, this.#adapter());
      for (const input of this.#trackerInputs()) this.node.input(input);
      this.node.start();
    }
    if (resume) {
      for (const input of this.#lostAddressInputs(this.node)) this.node.input(input);
      for (const input of this.#trackerInputs()) this.node.input(input);
    }
    this.#startScripts();
  }

  /**
   * What the netlink address watch tells a live daemon when its addresses are deleted: for every
   * VIP (and excluded VIP) of an instance the restored state has as MASTER — the addresses that
   * state believes present — and that the host no longer holds (it went down in the crash), a
   * journaled `address` input with `present: false`, in the kernel's canonical form. The node
   * reacts as to any deleted VIP (keepalived's RTM_DELADDR: the owning MASTER goes BACKUP with a
   * skew-time down timer, then takes over again and adds them back).
   */
  #lostAddressInputs(node: Node): Input[] {
    const out: Input[] = [];
    const seen = new Set<string>();
    for (const s of node.spec.instances) {
      if (node.state(s.params.name) !== "MASTER") continue;
      for (const v of vipAddresses(s)) {
        const address = canonicalAddress(v.address, v.family) ?? v.address;
        const key = `${v.dev}|${address}/${v.prefixLength}`;
        if (this.addresses.has(vipKey(v)) || seen.has(key)) continue;
        seen.add(key);
        out.push({
          kind: "address",
          ifname: v.dev,
          address,
          prefixLength: v.prefixLength,
          family: v.family,
          present: false,
        });
      }
    }
    return out;
  }

  #transport(): Transport {
    const t = this.#net.transport(this.name);
    const drop = this.#dropInbound;
    if (drop === undefined) return t;
    return {
      inbound$: t.inbound$.pipe(filter((d) => !drop(this, d))),
      send: (out) => t.send(out),
      close: () => t.close(),
    };
  }

  #headerLine(): string {
    return JSON.stringify({
      t: "header",
      format: JOURNAL_FORMAT,
      version: JOURNAL_VERSION,
      vigil: VIGIL_VERSION,
      configHash: configHash(this.#config),
      spec: this.spec,
    });
  }

  /** What the daemon's probes report before its instances start (probes.ts `initialInputs`). */
  #trackerInputs(): Input[] {
    const out: Input[] = [];
    for (const t of this.spec.trackers) {
      if (t.kind === "link") out.push({ kind: "link", ifname: t.name, up: this.links.get(t.name) ?? false });
      if (t.kind === "process")
        out.push({ kind: "probe", tracker: t.name, ok: true, running: this.processes.get(t.name) ?? 0 });
      if (t.kind === "file")
        out.push({ kind: "probe", tracker: t.name, ok: true, value: this.files.get(t.name) ?? 0 });
    }
    return out;
  }

  #startScripts(): void {
    for (const t of this.spec.trackers) {
      if (t.kind !== "script" || t.name.startsWith("!")) continue;
      const s = this.#config.scripts.find((x) => x.name === t.name);
      const intervalUs = Math.max(1_000_000, s?.intervalUs ?? 1_000_000);
      const run = (): void => {
        const exitStatus = this.scriptExit.get(t.name) ?? 0;
        this.node?.input({ kind: "probe", tracker: t.name, ok: exitStatus === 0, exitStatus });
        this.#probeTimers.push(this.#clock.setTimerUs(run, intervalUs));
      };
      run();
    }
  }

  #stop(keepAddresses: boolean): void {
    for (const t of this.#probeTimers) t.cancel();
    this.#probeTimers = [];
    const node = this.node;
    if (node !== undefined) {
      this.outputHashes.push(node.outputHash());
      node.close();
    }
    this.#net.transport(this.name).close();
    this.node = undefined;
    this.alive = false;
    if (!keepAddresses) {
      for (const a of this.addresses) this.#removed.push(a);
      this.addresses.clear();
      this.#ipvsChanges.push(...this.ipvs.clear());
    }
    this.#flushAddresses();
    this.#flushIpvs();
    this.#observer.settled(this);
  }

  /** The daemon dies at once (kill -9, or the host loses power unless `keepAddresses`). */
  crash(keepAddresses: boolean): void {
    if (this.alive) this.#stop(keepAddresses);
  }

  /** keepalived's stop: MASTERs send priority 0 and release their VIPs, then the daemon exits. */
  shutdown(): void {
    if (!this.alive) return;
    this.node?.shutdown();
    this.#stop(true);
  }

  /**
   * A configuration reload (SIGHUP) with `config`, as the live daemon does it: probes stop, the
   * node applies the journaled `reload` input, trackers report their state, probes start again. A
   * later restart reads this configuration (the file changed on disk).
   */
  reload(config: Config): void {
    this.#config = config;
    this.spec = specFromConfig(config, this.#adapter());
    for (const p of config.processes)
      if (!this.processes.has(p.name)) this.processes.set(p.name, this.#decl.processes[p.name] ?? p.quorum);
    for (const f of config.files) if (!this.files.has(f.name)) this.files.set(f.name, f.initValue ?? 0);
    for (const sc of config.scripts) if (!this.scriptExit.has(sc.name)) this.scriptExit.set(sc.name, 0);
    const node = this.node;
    if (node === undefined) return;
    for (const t of this.#probeTimers) t.cancel();
    this.#probeTimers = [];
    node.input({ kind: "reload", configHash: configHash(config), spec: this.spec });
    for (const input of this.#trackerInputs()) node.input(input);
    // New and changed virtual servers start as at start-up (unchanged ones kept their checkers).
    node.startCheckers();
    this.#startScripts();
  }

  /** Takes one checkpoint of a running node (the one a `resume: checkpoint` restart uses). */
  checkpoint(): void {
    if (this.node !== undefined) this.lastCheckpoint = this.node.checkpoint();
  }

  setScript(name: string, exitStatus: number): void {
    this.scriptExit.set(name, exitStatus);
  }

  setProcess(name: string, running: number): void {
    this.processes.set(name, running);
    this.node?.input({ kind: "probe", tracker: name, ok: true, running });
  }

  setFile(name: string, value: number): void {
    this.files.set(name, value);
    this.node?.input({ kind: "probe", tracker: name, ok: true, value });
  }

  setLink(ifname: string, up: boolean): void {
    this.links.set(ifname, up);
    this.#net.setInterfaceUp(this.name, ifname, up);
    if (this.spec.trackers.some((t) => t.kind === "link" && t.name === ifname))
      this.node?.input({ kind: "link", ifname, up });
  }

  #flushIpvs(): void {
    if (this.#ipvsChanges.length === 0) return;
    const changes = this.#ipvsChanges;
    this.#ipvsChanges = [];
    this.#observer.ipvsChanged(this, changes);
  }

  #flushAddresses(): void {
    if (this.#added.length === 0 && this.#removed.length === 0) return;
    const added = this.#added;
    const removed = this.#removed;
    this.#added = [];
    this.#removed = [];
    this.#observer.addressesChanged(this, added, removed);
  }
}
