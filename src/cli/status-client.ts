/**
 * The client side of `vigil status`: one `GET /status` to a running daemon's status server
 * (src/daemon/status-server.ts), the answer decoded with effect Schema (it comes from the network),
 * and the readable table. Loaded only when `vigil status` runs (src/cli/status.ts), so its `--help`
 * loads no dependency. Not pure (`fetchStatus` makes the request); `formatStatus` is pure.
 */
import { request } from "node:http";
import { Schema } from "effect";
import { escapeText } from "./escape.ts";
import type { HostPort } from "./host-port.ts";

/** How long one request may take, ms. */
export const STATUS_TIMEOUT_MS = 5000;
/** The largest answer accepted, bytes. */
export const MAX_STATUS_BYTES = 16 * 1024 * 1024;

const Nullable = <S extends Schema.Top>(s: S) => Schema.NullOr(s);
const Transition = Schema.Struct({ at: Schema.String, from: Schema.String, to: Schema.String });
const Instance = Schema.Struct({
  name: Schema.String,
  interface: Schema.String,
  vrid: Schema.Number,
  family: Schema.String,
  state: Schema.String,
  priority: Schema.Struct({ effective: Schema.Number, base: Schema.Number }),
  masterAddress: Nullable(Schema.String),
  masterPriority: Nullable(Schema.Number),
  lastTransition: Nullable(Transition),
  stats: Schema.Record(Schema.String, Schema.Number),
});
export const StatusAnswer = Schema.Struct({
  daemon: Schema.Struct({
    version: Schema.String,
    pid: Schema.Number,
    configFile: Schema.String,
    startTime: Schema.String,
    journal: Schema.Struct({
      path: Schema.String,
      degraded: Schema.Boolean,
      reason: Schema.optional(Schema.String),
      lostLines: Schema.optional(Schema.Number),
    }),
  }),
  instances: Schema.Array(Instance),
  syncGroups: Schema.Array(
    Schema.Struct({ name: Schema.String, state: Schema.String, members: Schema.Array(Schema.String) }),
  ),
  /** Absent from daemons older than the LVS checkers. */
  virtualServers: Schema.optional(
    Schema.Array(
      Schema.Struct({
        name: Schema.String,
        phase: Schema.String,
        quorumUp: Schema.Boolean,
        sorryServer: Nullable(Schema.Struct({ name: Schema.String, active: Schema.Boolean })),
        realServers: Schema.Array(
          Schema.Struct({
            name: Schema.String,
            alive: Schema.Boolean,
            inIpvs: Schema.Boolean,
            weight: Schema.Number,
            checkers: Schema.Array(Schema.Struct({ kind: Schema.String, up: Schema.Boolean })),
          }),
        ),
      }),
    ),
  ),
});
export type StatusAnswer = typeof StatusAnswer.Type;
export const decodeAnswer = Schema.decodeUnknownSync(StatusAnswer);

/** GET http://ADDR/status: the body, or why not. */
export function fetchStatus(
  addr: HostPort,
  timeoutMs = STATUS_TIMEOUT_MS,
): Promise<{ body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: addr.host,
        port: addr.port,
        path: "/status",
        method: "GET",
        timeout: timeoutMs,
        headers: { Accept: "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_STATUS_BYTES) {
            req.destroy(new Error(`answer larger than ${MAX_STATUS_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => {
          if (res.statusCode !== 200) resolve({ error: `HTTP ${res.statusCode ?? "?"}` });
          else resolve({ body: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", (e) => resolve({ error: e.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

const pad = (s: string, n: number): string => s.padEnd(n);

/** The readable table. Pure. */
export function formatStatus(s: StatusAnswer): string {
  const d = s.daemon;
  const lines = [
    `Vigil ${d.version}, pid ${d.pid}, started ${d.startTime}`,
    `Configuration: ${d.configFile}`,
    `Journal: ${d.journal.path}${d.journal.degraded ? ` (DEGRADED: events are not being written${d.journal.reason === undefined ? "" : ` - ${d.journal.reason}`}${d.journal.lostLines === undefined ? "" : `, ${d.journal.lostLines} lines lost`})` : ""}`,
    "",
  ];
  const head = [
    "VRRP Instance",
    "Interface",
    "VRID",
    "Family",
    "State",
    "Priority",
    "Master router",
    "Last transition",
  ];
  const rows = s.instances.map((i) => [
    i.name,
    i.interface,
    String(i.vrid),
    i.family,
    i.state,
    i.priority.effective === i.priority.base
      ? String(i.priority.effective)
      : `${i.priority.effective} (base ${i.priority.base})`,
    i.masterAddress === null
      ? "-"
      : `${i.masterAddress}${i.masterPriority === null ? "" : ` (priority ${i.masterPriority})`}`,
    i.lastTransition === null
      ? "-"
      : `${i.lastTransition.at} ${i.lastTransition.from} -> ${i.lastTransition.to}`,
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? "").length)));
  const row = (r: readonly string[]): string =>
    r
      .map((c, k) => pad(c, widths[k] ?? 0))
      .join("  ")
      .trimEnd();
  if (s.instances.length === 0) lines.push("No VRRP instance.");
  else lines.push(row(head), ...rows.map(row));
  for (const g of s.syncGroups)
    lines.push("", `VRRP Sync Group = ${g.name}, ${g.state}`, `  members: ${g.members.join(" ")}`);
  for (const v of s.virtualServers ?? []) {
    const quorum = v.phase === "running" ? (v.quorumUp ? "quorum up" : "quorum DOWN") : v.phase;
    lines.push("", `Virtual server ${v.name}, ${quorum}`);
    for (const r of v.realServers) {
      const checks = r.checkers.map((c) => `${c.kind} ${c.up ? "up" : "DOWN"}`).join(", ");
      const where = r.inIpvs ? `in IPVS, weight ${r.weight}` : "not in IPVS";
      lines.push(
        `  real server ${r.name}: ${r.alive ? "alive" : "DOWN"}, ${where}${checks === "" ? "" : ` (${checks})`}`,
      );
    }
    if (v.sorryServer !== null)
      lines.push(`  sorry server ${v.sorryServer.name}: ${v.sorryServer.active ? "active" : "inactive"}`);
  }
  return `${lines.map(escapeText).join("\n")}\n`;
}
