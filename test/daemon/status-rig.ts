/**
 * A daemon's status stack without a host: a `Node` from a keepalived.conf text on the VirtualClock
 * with recording ports and an in-memory transport, observed by a `StatusModel`, plus small HTTP
 * helpers for the loopback status server (started on the rig by `serveRig`). Test support; not pure.
 */
import { request } from "node:http";
import { Subject } from "rxjs";
import { loadConfig } from "../../src/config/load.ts";
import type { DaemonInfo } from "../../src/daemon/status-model.ts";
import { StatusModel } from "../../src/daemon/status-model.ts";
import {
  type StatusServer,
  type StatusServerOptions,
  startStatusServer,
} from "../../src/daemon/status-server.ts";
import { encodeAdvert } from "../../src/protocol/codec.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { nodeFromConfig } from "../../src/runtime/config.adapter.ts";
import type { Node } from "../../src/runtime/node.ts";
import { RecordingPorts } from "../../src/runtime/ports.ts";
import type { Datagram } from "../../transports/transport.ts";
import { memFs } from "../config/memfs.ts";

export const S = 1_000_000;
export const EPOCH_MS = 1_800_000_000_000;

export const TWO_INSTANCES = `
vrrp_sync_group G1 {
  group {
    VI_1
  }
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.18.0.100/24
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  virtual_ipaddress {
    198.18.0.101/24
  }
}
`;

export interface Rig {
  readonly node: Node;
  readonly clock: VirtualClock;
  readonly model: StatusModel;
  readonly rx: Subject<Datagram>;
  readonly daemon: () => DaemonInfo;
  /** An advert from `src` for `vrid` with `priority` and `vips`, delivered now. */
  advert(vrid: number, priority: number, vips: readonly string[], src?: string): void;
}

export function rig(text = TWO_INSTANCES, journal: { degraded?: boolean } = {}): Rig {
  const clock = new VirtualClock();
  const model = new StatusModel({ wallMs: () => EPOCH_MS + Math.floor(clock.nowUs() / 1000) });
  const r = loadConfig("k.conf", { configId: "lb1", fs: memFs({ "k.conf": text }) });
  if (r.config === undefined) throw new Error("config rejected");
  const rx = new Subject<Datagram>();
  const node = nodeFromConfig(
    r.config,
    {
      clock,
      ports: new RecordingPorts(() => clock.nowUs()),
      transport: { inbound$: rx, send: () => {}, close: () => {} },
      onApplied: model.observe,
    },
    { primaryAddress: (_i, f) => (f === 4 ? "198.18.0.1" : "fe80::1") },
  );
  node.start();
  node.input({ kind: "link", ifname: "eth0", up: true });
  return {
    node,
    clock,
    model,
    rx,
    daemon: () => ({
      version: "9.9.9",
      pid: 4242,
      configFile: "/etc/keepalived/keepalived.conf",
      startTime: new Date(EPOCH_MS).toISOString(),
      journal: { path: "/var/lib/vigil/journal.000001.jsonl", degraded: journal.degraded === true },
    }),
    advert: (vrid, priority, vips, src = "198.18.0.2") => {
      const dst = "224.0.0.18";
      const bytes = encodeAdvert(
        { version: 2, vrid, priority, advertIntervalCs: 100, addresses: [...vips] },
        4,
        {
          src,
          dst,
        },
      );
      rx.next({ bytes, family: 4, src, dst, ttl: 255, ifname: "eth0", rxAtUs: clock.nowUs() });
    },
  };
}

/**
 * The rig's status server on loopback (port 0: a free one), no stream heartbeat, log lines dropped;
 * `options` override any of these. Undefined when the port is taken, as `startStatusServer`.
 */
export const serveRig = (
  r: Rig,
  options: Partial<StatusServerOptions> = {},
): Promise<StatusServer | undefined> =>
  startStatusServer({
    host: "127.0.0.1",
    port: 0,
    model: r.model,
    node: () => r.node,
    daemon: r.daemon,
    log: () => {},
    heartbeatMs: 0,
    ...options,
  });

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request to the loopback server. */
export function http(port: number, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Yields to the event loop until `done()` holds (I/O completions, no timers); throws after `rounds`. */
export async function until(what: string, done: () => boolean, rounds = 5000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (done()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}
