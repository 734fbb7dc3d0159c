/**
 * The daemon's read-only HTTP status server (node:http, no framework), started by `vigil run`
 * (`--status HOST:PORT`, default 127.0.0.1:9118; `off` disables it):
 *
 * - `GET /status`  — JSON: daemon (version, pid, config file, start time, journal path and
 *   `degraded`), every instance (status-model.ts) and sync group, read at the request;
 * - `GET /metrics` — Prometheus text (metrics.ts);
 * - `GET /events`  — server-sent events: one `data:` JSON line per applied event (seq, atUs, input
 *   kind and description, outputs), `id:` = seq. A client whose unsent data exceeds
 *   `maxBufferedBytes` is skipped (the events are counted as dropped, and it gets one `dropped`
 *   event with the count once it reads again), so a slow reader cannot grow the daemon's memory;
 *   at most `maxClients` streams (503 beyond); a closed stream is forgotten at once.
 *
 * - `GET /`        — the live dashboard (src/viz/report/: the run view of this daemon, fed by
 *   `/status` and `/events`); `GET /assets/echarts.min.js` — its chart library, so the page needs
 *   no network. Both are built on the first request and kept for the server's life.
 *
 * Every other path is 404, every other method 405; no request changes anything. A bind failure
 * (port in use, address not here) is logged once and the daemon runs on without the server. Not
 * pure (sockets, timers).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { formatHostPort } from "../cli/host-port.ts";
import { DASHBOARD_CSP, ECHARTS_ASSET_PATH } from "../viz/report/page.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import {
  type DaemonInfo,
  type EventSummary,
  type NodeView,
  type StatusModel,
  statusDocument,
} from "./status-model.ts";

export interface StatusServerOptions {
  readonly host: string;
  readonly port: number;
  readonly model: StatusModel;
  readonly node: () => NodeView;
  readonly daemon: () => DaemonInfo;
  readonly log: (line: string) => void;
  /** Open `/events` streams allowed at once (default 32). */
  readonly maxClients?: number;
  /** Unsent bytes a stream may hold before its events are dropped (default 1 MiB). */
  readonly maxBufferedBytes?: number;
  /** Interval of the `: keepalive` comment on streams, ms (default 15000; 0 = none). */
  readonly heartbeatMs?: number;
}

export interface StatusServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  readonly metrics: Metrics;
  /** Open streams and events dropped for slow clients so far. */
  events(): { readonly clients: number; readonly dropped: number };
  close(): Promise<void>;
}

/** What a stream writes to: an HTTP response, or a fake in tests. */
export interface EventSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  end(): void;
}

/** The `/events` fan-out: one subscription to the model while any stream is open. Not pure. */
export class EventStreams {
  readonly #clients = new Map<EventSink, { dropped: number }>();
  readonly #model: StatusModel;
  readonly #maxBufferedBytes: number;
  #unsubscribe: (() => void) | undefined;
  #dropped = 0;

  constructor(model: StatusModel, maxBufferedBytes: number) {
    this.#model = model;
    this.#maxBufferedBytes = maxBufferedBytes;
  }

  get clients(): number {
    return this.#clients.size;
  }
  get dropped(): number {
    return this.#dropped;
  }

  add(sink: EventSink): void {
    this.#clients.set(sink, { dropped: 0 });
    this.#unsubscribe ??= this.#model.subscribe((e) => this.#event(e));
  }

  remove(sink: EventSink): void {
    this.#clients.delete(sink);
    if (this.#clients.size === 0) {
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
    }
  }

  /** Writes `text` to every stream that is keeping up; counts it as dropped for the others. */
  broadcast(text: string, counts: boolean): void {
    for (const [sink, c] of this.#clients) {
      if (sink.writableLength > this.#maxBufferedBytes) {
        if (counts) {
          c.dropped++;
          this.#dropped++;
        }
        continue;
      }
      try {
        if (c.dropped > 0) {
          sink.write(`event: dropped\ndata: {"dropped":${c.dropped}}\n\n`);
          c.dropped = 0;
        }
        sink.write(text);
      } catch {
        this.remove(sink); // a stream that cannot be written is closed, never a daemon error
      }
    }
  }

  closeAll(): void {
    for (const sink of [...this.#clients.keys()]) {
      this.remove(sink);
      sink.end();
    }
  }

  #event(e: EventSummary): void {
    this.broadcast(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`, true);
  }
}

const send = (res: ServerResponse, status: number, type: string, body: string, extra = {}): void => {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    ...extra,
  });
  res.end(body);
};
const TEXT = "text/plain; charset=utf-8";
/** The dashboard's chart library (the page asks for it relative to `/`). */
const ECHARTS_PATH = `/${ECHARTS_ASSET_PATH}`;

/** Starts the server; resolves to undefined (after one log line) when it cannot listen. */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer | undefined> {
  const streams = new EventStreams(opts.model, opts.maxBufferedBytes ?? 1024 * 1024);
  const maxClients = opts.maxClients ?? 32;
  const info = opts.daemon();
  const metrics = createMetrics({
    node: opts.node,
    model: opts.model,
    version: info.version,
    startTimeMs: Date.parse(info.startTime),
    events: () => ({ clients: streams.clients, dropped: streams.dropped }),
  });
  let pages: Promise<{ readonly dashboard: string; readonly echarts: string }> | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let path: string;
    try {
      // an origin-form target is a path even when it starts with "//" (not a host)
      const target = req.url ?? "";
      path = new URL(target.startsWith("/") ? `http://status.invalid${target}` : target).pathname;
    } catch {
      send(res, 400, TEXT, "bad request\n");
      return;
    }
    const known =
      path === "/status" ||
      path === "/metrics" ||
      path === "/events" ||
      path === "/" ||
      path === ECHARTS_PATH;
    if (!known) {
      send(res, 404, TEXT, "not found: try /, /status, /metrics or /events\n");
      return;
    }
    if (req.method !== "GET") {
      send(res, 405, TEXT, "method not allowed: GET only\n", { Allow: "GET" });
      return;
    }
    if (path === "/" || path === ECHARTS_PATH) {
      pages ??= import("../viz/report/reports.ts").then((r) => ({
        dashboard: r.dashboardHtml(),
        echarts: r.echartsSource(),
      }));
      pages.catch(() => {
        pages = undefined; // a failed build is tried again by the next request
      });
      const p = await pages;
      if (path === "/")
        send(res, 200, "text/html; charset=utf-8", p.dashboard, {
          "Content-Security-Policy": `${DASHBOARD_CSP}; frame-ancestors 'none'`,
        });
      else send(res, 200, "text/javascript; charset=utf-8", p.echarts);
    } else if (path === "/status") {
      const doc = statusDocument(opts.node(), opts.model, opts.daemon());
      send(res, 200, "application/json; charset=utf-8", `${JSON.stringify(doc, null, 2)}\n`);
    } else if (path === "/metrics") {
      send(res, 200, metrics.contentType, await metrics.text());
    } else if (streams.clients >= maxClients) {
      send(res, 503, TEXT, `too many event streams (${maxClients})\n`, { "Retry-After": "10" });
    } else {
      res.writeHead(200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        Connection: "keep-alive",
        "X-Accel-Buffering": "no",
      });
      res.write(": vigil events\n\n");
      streams.add(res);
      res.on("close", () => streams.remove(res));
      // A write racing the client's disconnect must not become an unhandled 'error' (a crash).
      res.on("error", () => streams.remove(res));
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      opts.log(`status server: ${req.method} ${req.url}: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) send(res, 500, TEXT, "internal error\n");
      else res.destroy();
    });
  });
  server.maxConnections = maxClients + 32;
  const where = formatHostPort(opts);
  const bound = await new Promise<boolean>((resolve) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      opts.log(
        `Status server: cannot listen on ${where}: ${e.code ?? e.message} - VRRP keeps running without it`,
      );
      resolve(false);
    });
    server.listen(opts.port, opts.host, () => resolve(true));
  });
  if (!bound) return undefined;
  server.on("error", (e) => opts.log(`Status server: ${e.message}`));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : opts.port;
  opts.log(`Status server listening on http://${formatHostPort({ host: opts.host, port })}/status`);
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const heartbeat =
    heartbeatMs > 0 ? setInterval(() => streams.broadcast(": keepalive\n\n", false), heartbeatMs) : undefined;
  heartbeat?.unref();
  let closing: Promise<void> | undefined;
  return {
    host: opts.host,
    port,
    metrics,
    events: () => ({ clients: streams.clients, dropped: streams.dropped }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        if (heartbeat !== undefined) clearInterval(heartbeat);
        streams.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
