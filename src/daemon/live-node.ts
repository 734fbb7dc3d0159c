/**
 * A `Node` on a real host: a validated `Config` wired to raw VRRP sockets (one shared socket per
 * interface, family and mode, one view per instance), the production effect ports
 * (src/effects/host-ports.ts), the real clock, a file journal, and the rtnetlink address watcher
 * whose reports enter the node as journaled `address` inputs. `stop()` is keepalived's shutdown:
 * every MASTER sends priority 0 and removes its addresses, STOP notifies run, then everything is
 * closed. This is the core `vigil run` (Step 8) will be built on; today tests start it through
 * test/netns/support/live-node.ts. Only raw transports are wired: an instance with
 * `vigil_transport udp` is refused with a clear error. Not pure: this is the host.
 */
import { merge, type Subscription } from "rxjs";
import { interfaceAddress, RawTransportPool } from "../../transports/raw.transport.ts";
import type { Transport } from "../../transports/transport.ts";
import type { Config } from "../config/types.ts";
import { createHostPorts, type HostPorts } from "../effects/host-ports.ts";
import { watchAddresses } from "../effects/rtnetlink.ts";
import { RealClock } from "../runtime/clock.ts";
import { nodeFromConfig } from "../runtime/config.adapter.ts";
import { FileJournal } from "../runtime/journal.ts";
import type { Node } from "../runtime/node.ts";

export interface LiveNodeOptions {
  readonly config: Config;
  /** The journal file (JSON lines, appended). */
  readonly journalPath: string;
  /** Log sink; `detail` marks the lines keepalived prints only with -D. */
  readonly log: (line: string, detail: boolean) => void;
  /** How long `stop()` waits for the effect actors to finish, in ms (default 5000). */
  readonly stopGraceMs?: number;
}

export interface LiveNode {
  readonly node: Node;
  readonly ports: HostPorts;
  /** Shuts the node down as keepalived does on SIGTERM and closes every socket, FIFO and file. */
  stop(): Promise<void>;
}

const viewKey = (ifname: string, family: number, vrid: number): string => `${ifname}/${family}/${vrid}`;

/** Opens one raw transport view per instance and merges them into one `Transport`. */
function rawTransport(config: Config, pool: RawTransportPool): Transport {
  const views = new Map<string, Transport>();
  for (const i of config.instances) {
    if (i.transport.kind !== "raw")
      throw new Error(`(${i.name}) vigil_transport udp is not wired into a live node yet`);
    const ifname = i.interface ?? config.global.defaultInterface;
    const family = i.family === "ipv4" ? 4 : 6;
    const unicast = i.unicastPeers.length > 0;
    const src = i.unicastSrcIp ?? i.mcastSrcIp ?? undefined;
    views.set(
      viewKey(ifname, family, i.vrid),
      pool.open({
        vrid: i.vrid,
        ifname,
        family,
        mode: unicast ? "unicast" : "multicast",
        ...(unicast ? {} : { group: i.mcastGroup }),
        ...(src === undefined ? {} : { src }),
        ...(unicast
          ? {
              peers: i.unicastPeers.map((p) => ({
                address: p.address,
                ...(p.minTtl === null ? {} : { minTtl: p.minTtl }),
                ...(p.maxTtl === null ? {} : { maxTtl: p.maxTtl }),
              })),
              checkUnicastSrc: i.checkUnicastSrc,
            }
          : {}),
      }),
    );
  }
  return {
    inbound$: merge(...[...views.values()].map((v) => v.inbound$)),
    send: (out) => views.get(viewKey(out.ifname, out.family, out.vrid))?.send(out),
    close: () => pool.close(),
  };
}

/** Builds and starts a node on the real host; resolves once it has applied its `start` input. */
export async function startLiveNode(opts: LiveNodeOptions): Promise<LiveNode> {
  const clock = new RealClock();
  const pool = new RawTransportPool(clock);
  const transport = rawTransport(opts.config, pool);
  const ports = createHostPorts({ config: opts.config, clock, log: opts.log });
  const journal = new FileJournal(opts.journalPath);
  const node = nodeFromConfig(
    opts.config,
    { clock, ports, journal, transport },
    { primaryAddress: (ifname, family) => interfaceAddress(ifname, family) },
  );
  let watcher: Subscription | undefined;
  try {
    await ports.open();
  } catch (e) {
    // A FIFO that cannot be opened is logged by the notify port; the node still runs.
    opts.log(`notify: ${e instanceof Error ? e.message : String(e)}`, false);
  }
  watcher = watchAddresses().subscribe({
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
      opts.log(`Netlink address watch stopped: ${e instanceof Error ? e.message : String(e)}`, false);
      watcher = undefined;
    },
  });
  node.start();
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      node.shutdown();
      const graceMs = opts.stopGraceMs ?? 5000;
      await Promise.race([node.settled(), new Promise((r) => setTimeout(r, graceMs).unref())]);
      watcher?.unsubscribe();
      node.close();
      ports.close();
      transport.close();
    })();
    return stopped;
  };
  return { node, ports, stop };
}
