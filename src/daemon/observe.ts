/**
 * Everything `vigil run` offers for looking at a running daemon, behind one small interface so the
 * daemon's body only wires it: the status model (fed by the Node's `onApplied`), the HTTP status
 * server (`--status`, status-server.ts) and keepalived's dump signals (dump-signals.ts). The server
 * failing to bind never stops the daemon. Not pure.
 */
import type { NodeOptions } from "../runtime/node.ts";
import { VIGIL_VERSION } from "../version.ts";
import { type DumpSignals, installDumpSignals } from "./dump-signals.ts";
import { type DumpView, dumpView } from "./dumps.ts";
import { type DaemonInfo, type NodeView, StatusModel } from "./status-model.ts";
import { type StatusServer, startStatusServer } from "./status-server.ts";

export interface ObserveSettings {
  readonly configFile: string;
  /** Where the status server listens; undefined: `--status off`. */
  readonly status?: { readonly host: string; readonly port: number } | undefined;
  /** Directory of keepalived.data / .stats / .json (default /tmp). */
  readonly dumpDir?: string | undefined;
  readonly log: (line: string) => void;
}

/** What the daemon hands over once its node runs (live-node.ts `LiveNode`). */
export interface ObservedNode {
  readonly node: NodeView;
  readonly journalFile: () => string;
  /** The file journal; its `degraded` flag is read if it has one. */
  readonly journal?: unknown;
}

export interface DaemonObserver {
  readonly onApplied: NonNullable<NodeOptions["onApplied"]>;
  attach(live: ObservedNode): Promise<void>;
  close(): Promise<void>;
}

const EMPTY_VIEW: DumpView = { instances: [], syncGroups: [], trackers: new Map() };

/**
 * The journal part of `/status` from the file journal's `degraded` (false, or why and since when:
 * src/runtime/segment-file.ts); read defensively — a journal without it is not degraded. Pure.
 */
export function journalStatus(path: string, journal: unknown): DaemonInfo["journal"] {
  const d =
    typeof journal === "object" && journal !== null
      ? (journal as { degraded?: unknown }).degraded
      : undefined;
  if (d === true) return { path, degraded: true };
  if (typeof d !== "object" || d === null) return { path, degraded: false };
  const { sinceMs, reason, lostLines } = d as { sinceMs?: unknown; reason?: unknown; lostLines?: unknown };
  return {
    path,
    degraded: true,
    ...(typeof sinceMs === "number" ? { since: new Date(sinceMs).toISOString() } : {}),
    ...(typeof reason === "string" ? { reason } : {}),
    ...(typeof lostLines === "number" ? { lostLines } : {}),
  };
}

export function observeDaemon(settings: ObserveSettings): DaemonObserver {
  const model = new StatusModel();
  const startTime = new Date().toISOString();
  let live: ObservedNode | undefined;
  let server: StatusServer | undefined;
  // The dump signals from the start: during start-up they dump no instance (nothing runs yet).
  const signals: DumpSignals = installDumpSignals({
    view: () => (live === undefined ? EMPTY_VIEW : dumpView(live.node, model)),
    log: settings.log,
    ...(settings.dumpDir === undefined ? {} : { dir: settings.dumpDir }),
  });
  return {
    onApplied: model.observe,
    attach: async (running) => {
      live = running;
      const daemon = (): DaemonInfo => ({
        version: VIGIL_VERSION,
        pid: process.pid,
        configFile: settings.configFile,
        startTime,
        journal: journalStatus(running.journalFile(), running.journal),
      });
      if (settings.status !== undefined)
        server = await startStatusServer({
          ...settings.status,
          model,
          node: () => running.node,
          daemon,
          log: settings.log,
        });
    },
    close: async () => {
      signals.close();
      await server?.close();
    },
  };
}
