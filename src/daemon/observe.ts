/**
 * Everything `vigil run` offers for looking at a running daemon, behind one small interface so the
 * daemon's body only wires it: the status model (fed by the Node's `onApplied`), the HTTP status
 * server (`--status`, status-server.ts) and keepalived's dump signals (dump-signals.ts). The server
 * failing to bind never stops the daemon. Not pure.
 */
import type { NodeOptions } from "../runtime/node.ts";
import type { JournalDegraded } from "../runtime/segment-file.ts";
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
  /** The file journal (its `degraded` flag); absent for a node without one. */
  readonly journal?: { readonly degraded: false | JournalDegraded };
}

export interface DaemonObserver {
  readonly onApplied: NonNullable<NodeOptions["onApplied"]>;
  attach(live: ObservedNode): Promise<void>;
  close(): Promise<void>;
}

const EMPTY_VIEW: DumpView = {
  staticAddresses: [],
  staticRoutes: [],
  staticRules: [],
  instances: [],
  syncGroups: [],
  trackers: new Map(),
};

/** The journal part of `/status`: the file journal's `degraded` (src/runtime/segment-file.ts). Pure. */
export function journalStatus(
  path: string,
  degraded: false | JournalDegraded | undefined,
): DaemonInfo["journal"] {
  if (degraded === undefined || degraded === false) return { path, degraded: false };
  return {
    path,
    degraded: true,
    since: new Date(degraded.sinceMs).toISOString(),
    reason: degraded.reason,
    lostLines: degraded.lostLines,
  };
}

export function observeDaemon(settings: ObserveSettings): DaemonObserver {
  const model = new StatusModel();
  const startTime = new Date().toISOString();
  let live: ObservedNode | undefined;
  let server: StatusServer | undefined;
  // The dump signals from the start: during start-up they dump no instance (nothing runs yet).
  const signals: DumpSignals = installDumpSignals({
    view: () => {
      if (live === undefined) return EMPTY_VIEW;
      live.node.readDeferred?.(); // the adverts that arrived and wait in a socket are counted first
      return dumpView(live.node, model);
    },
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
        journal: journalStatus(running.journalFile(), running.journal?.degraded),
      });
      if (settings.status !== undefined)
        server = await startStatusServer({
          ...settings.status,
          model,
          node: () => {
            running.node.readDeferred?.(); // as for the dumps
            return running.node;
          },
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
