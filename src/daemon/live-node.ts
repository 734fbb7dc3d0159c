/**
 * A `Node` on a real host: a validated `Config` wired to its sockets — one per (interface, family,
 * mode): raw multicast, raw unicast, or UDP (`vigil_transport udp [port N]`) — whose inbound streams
 * are merged ONCE into the node's transport (routing by (interface, family, VRID) and the unicast
 * peer / TTL checks happen in one place, the codec adapter, on the journaled input). The production
 * effect ports (src/effects/host-ports.ts), the real clock, a file journal, and the rtnetlink address
 * watcher whose reports enter the node as journaled `address` inputs (and, while a tracked virtual
 * route or rule is configured, a route watch whose deletions by others enter as `route` inputs).
 * The advert source of an instance without unicast_src_ip / mcast_src_ip is its interface's
 * primary IPv4 / link-local IPv6 address read from netlink at start; an interface without one (or
 * that does not exist) is logged and the instance is held in FAULT, as keepalived does — never a
 * crash, never 0.0.0.0. `stop()` is keepalived's shutdown: every MASTER sends priority 0 and removes
 * its addresses (and virtual routes and rules, then the static ones go), STOP notifies run,
 * then everything is closed. Tracker probes (src/trackers/probes.ts) are wired here: before
 * `start` the node gets the real initial state of every tracked interface, file (after `init_file`)
 * and process count; then the probes run on the same clock and the host ports' one process runner,
 * their results entering as journaled `probe` / `link` inputs. Scripts refused by script security
 * (or not found) are removed from every instance, as keepalived does; a track_interface missing at
 * start is, as in keepalived, a configuration error without `dynamic_interfaces` (start rejects)
 * and a down interface with it. `stop()` stops the probes first. The journal is rotated
 * (`maxSegmentBytes`, `maxSegments`) and flushed on a time bound. `reload(config)` (SIGHUP, with a
 * configuration already validated): the new configuration's interfaces are read, its sockets opened
 * and swapped in under the node's one transport (the old ones closed), the probes stopped, the
 * journaled `reload` input applied to the same node (src/runtime/reload-apply.ts), the trackers'
 * real initial state fed again and the probes restarted for the new configuration; the journal file
 * sequence goes on. Not pure: this is the host.
 */
import koffi from "koffi";
import { merge, type Observable, type Subscription } from "rxjs";
import { Fanout } from "../../transports/fanout.ts";
import { RawTransportPool } from "../../transports/raw.transport.ts";
import type { Datagram, Outbound, SteadyAdvert, Transport } from "../../transports/transport.ts";
import { openUdpTransport, type UdpTransport } from "../../transports/udp.transport.ts";
import type { Config } from "../config/types.ts";
import { createHostPorts, type HostPorts } from "../effects/host-ports.ts";
import { deletedEntry, watchRouteDeletions } from "../effects/route.effect.ts";
import { type InterfaceInfo, interfaceInfo, watchAddresses } from "../effects/rtnetlink.ts";
import { nodeScriptEnv } from "../effects/script-security.ts";
import { createLvs, type Lvs } from "../lvs/lvs.service.ts";
import type { Clock, TimerHandle } from "../runtime/clock.ts";
import { configHash, nodeFromConfig, specFromConfig } from "../runtime/config.adapter.ts";
import { FileJournal } from "../runtime/journal.ts";
import type { Node, NodeOptions } from "../runtime/node.ts";
import type { RoutePort } from "../runtime/ports.ts";
import { processTimerHost, RealClock } from "../runtime/real-clock.ts";
import {
  disabledScripts,
  initialInputs,
  missingTrackedInterfaces,
  type RunningProbes,
  startProbes,
} from "../trackers/probes.ts";
import type { LogSink } from "./log-format.ts";

export interface LiveNodeOptions {
  readonly config: Config;
  /** The journal file (JSON lines, appended). */
  readonly journalPath: string;
  /** Log sink; `detail` marks the lines keepalived prints only with -D; errors say so. */
  readonly log: LogSink;
  /** How long `stop()` waits for the effect actors to finish, in ms (default 5000). */
  readonly stopGraceMs?: number;
  /** Journal rotation: a segment over this many bytes starts the next one (default 16 MiB). */
  readonly maxSegmentBytes?: number;
  /** Journal segments kept on disk, the newest included (default 8). */
  readonly maxSegments?: number;
  /** Observes track_file inotify watchers opening / closing (tests assert none is left). */
  readonly onWatcher?: (open: boolean) => void;
  /** Replaces the production effect ports (e.g. `vigil run --dry-run`'s logging ports). */
  /** `config`: the configuration the notify ports look scripts up in (`notifyView`: follows reloads). */
  readonly wrapPorts?: (ports: HostPorts, config: Config) => HostPorts;
  /** Called after each applied event (the status server's model, src/daemon/observe.ts). */
  readonly onApplied?: NodeOptions["onApplied"];
}

export const DEFAULT_MAX_SEGMENT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_SEGMENTS = 8;

export interface LiveNode {
  readonly node: Node;
  readonly ports: HostPorts;
  /** The journal file being written (a segment `STEM.NNNNNN.jsonl` of `journalPath`). */
  readonly journalFile: () => string;
  /** The file journal itself (the status server reads its `degraded` flag). */
  readonly journal: FileJournal;
  /** Shuts the node down as keepalived does on SIGTERM and closes every socket, FIFO and file. */
  stop(): Promise<void>;
  /**
   * Applies a validated configuration to the running node (see the module text); rejects, changing
   * nothing, when it names a track_interface that does not exist (keepalived's start-up rule).
   * Notify scripts follow the new configuration (`notifyView`); the FIFOs stay those of the first.
   */
  reload(config: Config): Promise<void>;
}

/**
 * The configuration as the notify ports see it: the instances and sync groups of the configuration
 * in force, then those of the one before the last reload (a removed instance's FAULT / DELETED
 * notify runs after the reload, with its old scripts); everything else (the FIFOs) as at start.
 */
function notifyView(first: Config): { readonly config: Config; reloaded(next: Config): void } {
  let current = first;
  let previous: Config | undefined;
  const both = <K extends "instances" | "syncGroups">(k: K): Config[K] =>
    (previous === undefined ? current[k] : [...current[k], ...previous[k]]) as Config[K];
  // A copy as the target: the proxy's answers need not match a frozen original's.
  const config = new Proxy(
    { ...first },
    {
      get: (target, key, receiver) =>
        key === "instances" || key === "syncGroups" ? both(key) : Reflect.get(target, key, receiver),
    },
  );
  return {
    config,
    reloaded: (next) => {
      previous = current;
      current = next;
    },
  };
}

/** A socket set that says whether it has a socket for an advert's (interface, family, VRID). */
interface RoutedTransport extends Transport {
  routes(out: Outbound): boolean;
}

/** How long the sockets a reload replaced still send (a removed instance's priority-0 advert). */
const RETIRED_SOCKETS_MS = 3000;

/**
 * The node's one transport, whose sockets a reload replaces (the node keeps its subscription).
 * Datagrams come from the current set only; an advert the current set has no socket for (a removed
 * instance's last, priority-0 advert, sent by its effect actor after the swap) goes out on the
 * replaced set, closed `RETIRED_SOCKETS_MS` later.
 */
class SwitchedTransport implements Transport {
  readonly #in = new Fanout<Datagram>();
  readonly inbound$: Observable<Datagram> = this.#in.observable;
  readonly #push = (d: Datagram): void => this.#in.next(d);
  #current: RoutedTransport;
  #retired: RoutedTransport | undefined;
  #retiredTimer: TimerHandle | undefined;
  #sub: Subscription;
  constructor(
    first: RoutedTransport,
    private readonly clock: Clock,
  ) {
    this.#current = first;
    this.#sub = first.inbound$.subscribe(this.#push);
  }
  send(out: Outbound): void {
    if (this.#current.routes(out) || this.#retired === undefined) this.#current.send(out);
    else this.#retired.send(out);
  }
  readPending(): void {
    this.#current.readPending?.();
  }
  readDeferred(): void {
    this.#current.readDeferred?.();
  }
  steady(a: SteadyAdvert): void {
    this.#current.steady?.(a);
  }
  unsteady(ifname: string, family: 4 | 6, vrid: number): void {
    this.#current.unsteady?.(ifname, family, vrid);
  }
  unsteadyAll(): void {
    this.#current.unsteadyAll?.();
  }
  /** Takes `next`'s datagrams from now on; the previous sockets are retired. */
  swap(next: RoutedTransport): void {
    this.#retire();
    this.#sub.unsubscribe();
    this.#retired = this.#current;
    this.#retiredTimer = this.clock.setTimeout(() => this.#retire(), RETIRED_SOCKETS_MS);
    this.#current = next;
    this.#sub = next.inbound$.subscribe(this.#push);
  }
  #retire(): void {
    this.clock.clearTimeout(this.#retiredTimer);
    this.#retiredTimer = undefined;
    this.#retired?.close();
    this.#retired = undefined;
  }
  close(): void {
    this.#retire();
    this.#sub.unsubscribe();
    this.#current.close();
    this.#in.complete();
  }
}

type Family = 4 | 6;
/**
 * The transports by route: interface, then family and VRID as one number (no key string built per
 * advert sent: two were, about 200 bytes of garbage per advert at a MASTER).
 */
class Routes {
  readonly #byIf = new Map<string, Map<number, Transport>>();
  set(ifname: string, family: number, vrid: number, t: Transport): void {
    let m = this.#byIf.get(ifname);
    if (m === undefined) {
      m = new Map();
      this.#byIf.set(ifname, m);
    }
    m.set(family * 256 + vrid, t);
  }
  get(out: Outbound): Transport | undefined {
    return this.#byIf.get(out.ifname)?.get(out.family * 256 + out.vrid);
  }
}

/** Reads every instance interface from netlink once; a missing interface is logged, not fatal. */
async function readInterfaces(
  config: Config,
  log: LiveNodeOptions["log"],
): Promise<ReadonlyMap<string, InterfaceInfo>> {
  const infos = new Map<string, InterfaceInfo>();
  for (const ifname of new Set(config.instances.map((i) => i.interface ?? config.global.defaultInterface))) {
    try {
      infos.set(ifname, await interfaceInfo(ifname));
    } catch (e) {
      log(`Interface ${ifname}: ${e instanceof Error ? e.message : String(e)}`, false, "error");
    }
  }
  return infos;
}

/**
 * Opens one socket per (interface, family, mode) the configuration needs and merges their inbound
 * streams once. Instances whose socket cannot be opened are logged (they then hear nothing).
 */
async function openTransports(
  config: Config,
  clock: Clock,
  infos: ReadonlyMap<string, InterfaceInfo>,
  source: (ifname: string, family: Family) => string | undefined,
  log: LiveNodeOptions["log"],
): Promise<RoutedTransport> {
  const pool = new RawTransportPool(clock);
  const udp: UdpTransport[] = [];
  const sockets = new Map<string, Transport>();
  const byRoute = new Routes();
  const groups = new Map<string, Set<string>>();
  for (const i of config.instances) {
    const ifname = i.interface ?? config.global.defaultInterface;
    const family: Family = i.family === "ipv4" ? 4 : 6;
    const mode = i.unicastPeers.length > 0 ? "unicast" : "multicast";
    const key =
      i.transport.kind === "udp"
        ? `${ifname}/${family}/udp/${i.transport.port}/${mode === "multicast" ? i.mcastGroup : ""}`
        : `${ifname}/${family}/raw/${mode}`;
    try {
      let t = sockets.get(key);
      if (t === undefined) {
        if (i.transport.kind === "udp") {
          const local = i.unicastSrcIp ?? i.mcastSrcIp ?? source(ifname, family);
          if (local === undefined) throw new Error(`no ${family === 4 ? "IPv4" : "IPv6"} address to bind`);
          const ifindex = infos.get(ifname)?.ifindex;
          const u = await openUdpTransport({
            clock,
            family,
            ifname,
            ...(ifindex === undefined ? {} : { ifindex }),
            localAddress: local,
            port: i.transport.port,
            ...(mode === "multicast" ? { group: i.mcastGroup } : {}),
          });
          udp.push(u);
          t = u;
        } else {
          const joined = new Set<string>();
          groups.set(key, joined);
          t = pool.openShared(ifname, family, mode);
        }
        sockets.set(key, t);
      }
      if (i.transport.kind === "raw" && mode === "multicast" && !groups.get(key)?.has(i.mcastGroup)) {
        groups.get(key)?.add(i.mcastGroup);
        pool.openShared(ifname, family, mode, [i.mcastGroup]);
      }
      byRoute.set(ifname, family, i.vrid, t);
    } catch (e) {
      log(
        `(${i.name}) cannot open its ${i.transport.kind} socket on ${ifname}: ${e instanceof Error ? e.message : String(e)}`,
        false,
        "error",
      );
    }
  }
  const all = [...sockets.values()];
  return {
    inbound$: merge(...all.map((t) => t.inbound$)),
    send: (out) => byRoute.get(out)?.send(out),
    routes: (out) => byRoute.get(out) !== undefined,
    readPending: () => {
      pool.readPending();
      for (const u of udp) u.readPending();
    },
    readDeferred: () => pool.readDeferred(),
    steady: (a) => pool.steady(a),
    unsteady: (ifname, family, vrid) => pool.unsteady(ifname, family, vrid),
    unsteadyAll: () => pool.unsteadyAll(),
    close: () => {
      for (const t of all) t.close();
      pool.close();
    },
  };
}

/**
 * A sleep on a kernel timer (glibc `usleep`, rounded up to the microsecond) for the precise timers'
 * last stretch (real-clock.ts); undefined where glibc cannot be loaded (the clock then waits on loop turns).
 */
function kernelSleep(): ((us: number) => void) | undefined {
  try {
    const usleep = koffi.load("libc.so.6").func("int usleep(uint32_t)") as (us: number) => number;
    return (us) => {
      usleep(Math.ceil(us));
    };
  } catch {
    return undefined;
  }
}

/** Builds and starts a node on the real host; resolves once it has applied its `start` input. */
export async function startLiveNode(opts: LiveNodeOptions): Promise<LiveNode> {
  const clock = new RealClock(processTimerHost(kernelSleep()));
  // keepalived 2.2.7 refuses to run with a track_interface that does not exist (without
  // dynamic_interfaces): `Non-existent interface specified in configuration`, permanent CONFIG error.
  const missing = await missingTrackedInterfaces(opts.config, { log: opts.log });
  if (missing.length > 0) {
    opts.log("Non-existent interface specified in configuration", false);
    throw new Error(`Non-existent interface specified in configuration: ${missing.join(", ")}`);
  }
  const infos = new Map(await readInterfaces(opts.config, opts.log));
  const source = (ifname: string, family: Family): string | undefined => {
    const info = infos.get(ifname);
    return (family === 4 ? info?.primaryIpv4 : info?.linkLocalIpv6) ?? undefined;
  };
  const transport = new SwitchedTransport(
    await openTransports(opts.config, clock, infos, source, opts.log),
    clock,
  );
  const notify = notifyView(opts.config);
  const hostPorts = createHostPorts({ config: notify.config, clock, log: opts.log });
  const ports = opts.wrapPorts === undefined ? hostPorts : opts.wrapPorts(hostPorts, notify.config);
  const journal = new FileJournal(opts.journalPath, {
    clock,
    maxSegmentBytes: opts.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES,
    maxSegments: opts.maxSegments ?? DEFAULT_MAX_SEGMENTS,
    // a full disk: logged once, VRRP goes on (journal.degraded tells the status server)
    onProblem: (line, severity) => opts.log(line, false, severity),
  });
  const env = nodeScriptEnv();
  let removedTrackers = new Set(disabledScripts(opts.config, env));
  // LVS (src/lvs/lvs.service.ts): health checkers and IPVS; in a dry run (wrapped ports) the checks
  // run and the IPVS lines and notify scripts are logged instead.
  const lvs: Lvs | undefined =
    opts.config.virtualServers.length === 0
      ? undefined
      : createLvs({
          config: opts.config,
          clock,
          runner: ports.runner,
          scriptEnv: env,
          log: (l) => opts.log(l, false),
          ...(opts.wrapPorts === undefined
            ? {}
            : { dryRun: (l: string) => opts.log(`[dry-run] ${l}`, false) }),
        });
  const node = nodeFromConfig(
    opts.config,
    {
      clock,
      ports,
      journal,
      transport,
      hashOutputs: false,
      ...(opts.onApplied === undefined ? {} : { onApplied: opts.onApplied }),
      ...(lvs === undefined ? {} : { checks: lvs.checks }),
    },
    { primaryAddress: source, removedTrackers, lvs: lvs !== undefined },
  );
  // A down timer fires only after the adverts and address notifications already waiting in the
  // sockets are heard (real-clock.ts): keepalived reads its sockets and netlink reflector first too.
  const addresses = watchAddresses();
  const routes = routeWatch(node, ports.route, opts.log);
  clock.readInputFirst(() => {
    transport.readPending();
    addresses.readPending();
  });
  // Configuration faults (no address to send from, unicast_fault_no_peer without peers): keepalived's lines.
  for (const i of node.spec.instances) for (const why of i.configFaults ?? []) opts.log(why, false);
  let watcher: Subscription | undefined;
  try {
    await ports.open();
  } catch (e) {
    // A FIFO that cannot be opened is logged by the notify port; the node still runs.
    opts.log(`notify: ${e instanceof Error ? e.message : String(e)}`, false, "error");
  }
  routes.follow();
  watcher = addresses.subscribe({
    next: (a) =>
      node.input({
        kind: "address",
        ifname: a.ifname,
        address: a.address,
        prefixLength: a.prefixLength,
        family: a.family,
        present: a.present,
      }),
    error: (e: unknown) => {
      opts.log(
        `Netlink address watch stopped: ${e instanceof Error ? e.message : String(e)}`,
        false,
        "error",
      );
      watcher = undefined;
    },
  });
  // What keepalived knows before its instances start: real link states, files, process counts.
  const feedInitial = async (config: Config): Promise<void> => {
    try {
      for (const input of await initialInputs(config, { log: opts.log, removedTrackers })) node.input(input);
    } catch (e) {
      // A failed link dump leaves the interfaces without a first result; the link watch reports them.
      opts.log(`Tracker initial state: ${e instanceof Error ? e.message : String(e)}`, false, "error");
    }
  };
  const probesFor = (config: Config): RunningProbes =>
    startProbes(config, (i) => node.input(i), {
      clock,
      runner: ports.runner,
      env,
      log: opts.log,
      removedTrackers,
      ...(opts.onWatcher === undefined ? {} : { onWatcher: opts.onWatcher }),
    });
  await feedInitial(opts.config);
  node.start();
  let probes = probesFor(opts.config);
  let stopping = false;
  const reload = async (config: Config): Promise<void> => {
    const missingNow = await missingTrackedInterfaces(config, { log: opts.log });
    if (missingNow.length > 0)
      throw new Error(`Non-existent interface specified in configuration: ${missingNow.join(", ")}`);
    for (const [ifname, info] of await readInterfaces(config, opts.log)) infos.set(ifname, info);
    const sockets = await openTransports(config, clock, infos, source, opts.log);
    if (stopping) {
      sockets.close();
      return;
    }
    probes.stop();
    transport.swap(sockets);
    removedTrackers = new Set(disabledScripts(config, env));
    const spec = specFromConfig(config, { primaryAddress: source, removedTrackers, lvs: lvs !== undefined });
    notify.reloaded(config);
    node.input({ kind: "reload", configHash: configHash(config), spec });
    routes.follow();
    lvs?.reload(config);
    node.startCheckers();
    for (const i of spec.instances) for (const why of i.configFaults ?? []) opts.log(why, false);
    await feedInitial(config);
    if (!stopping) probes = probesFor(config);
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      probes.stop();
      node.shutdown();
      const graceMs = opts.stopGraceMs ?? 5000;
      const done = Promise.all([node.settled(), lvs?.idle()]);
      await Promise.race([done, new Promise((r) => setTimeout(r, graceMs).unref())]);
      watcher?.unsubscribe();
      routes.stop();
      node.close();
      ports.close();
      transport.close();
    })();
    return stopped;
  };
  return { node, ports, stop, reload, journal, journalFile: () => journal.currentPath };
}

/**
 * keepalived's route and rule tracking: while the node's configuration has a tracked virtual route
 * or rule, a watch of the host's route and rule deletions (its own socket) turns each deletion that
 * the route port did not make into a journaled `route` input naming the configured entry; the node
 * decides whether a MASTER holds it. `follow` starts the watch when the configuration (at start, after
 * a reload) tracks one; once started it runs until `stop`. It is read by the event loop only, not
 * before each timer like the address watch: a deletion does not race a down timer, and the timers'
 * wake-ups stay one syscall lighter.
 */
function routeWatch(
  node: Node,
  port: RoutePort,
  log: LiveNodeOptions["log"],
): { follow(): void; stop(): void } {
  let sub: Subscription | undefined;
  const tracked = (): boolean =>
    node.spec.instances.some((i) => [...(i.routes ?? []), ...(i.rules ?? [])].some((x) => !x.noTrack));
  return {
    follow() {
      if (sub !== undefined || !tracked()) return;
      sub = watchRouteDeletions().subscribe({
        next: (d) => {
          if (d.port !== 0 && d.port === port.ownPort?.()) return;
          for (const i of node.spec.instances) {
            const text = deletedEntry(d, i.routes ?? [], i.rules ?? []);
            if (text === undefined) continue;
            node.input({ kind: "route", entry: d.kind, text });
            return;
          }
          // then the static ones (keepalived's route_is_ours / rule_is_ours look there last)
          const { staticRoutes = [], staticRules = [] } = node.spec;
          const text = deletedEntry(d, staticRoutes, staticRules, true);
          if (text !== undefined) node.input({ kind: "route", entry: d.kind, text });
        },
        error: (e: unknown) =>
          log(`Netlink route watch stopped: ${e instanceof Error ? e.message : String(e)}`, false, "error"),
      });
    },
    stop: () => sub?.unsubscribe(),
  };
}
