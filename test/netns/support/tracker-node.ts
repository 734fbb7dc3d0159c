/**
 * Runs one Vigil node with its tracker probes on the real host of a lab namespace
 * (src/daemon/live-node.ts), for the tracker failover tests:
 *
 *   tracker-node.ts CONFIG JOURNAL [MAX_SEGMENT_BYTES]
 *
 * prints every log line as `<epoch µs> <line>` on stdout and `ready` once started. On SIGTERM it
 * shuts down as keepalived does, then prints what is left open — `leftover watchers=N inotify=N
 * children=N` (track_file watchers as the probe counted them, inotify watches the kernel still
 * holds for this process from /proc/self/fdinfo, script processes the runner still tracks) — then
 * `stopped`, and exits 0. A config with errors exits 2. Not pure (it is a daemon).
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { readInterfaceMtu } from "../../../src/cli/host-checks.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { startLiveNode } from "../../../src/daemon/live-node.ts";

const [configPath = "", journalPath = "", maxSegmentBytes] = process.argv.slice(2);
const loaded = loadConfig(configPath, { interfaceMtu: (ifname) => readInterfaceMtu(ifname) });
if (loaded.config === undefined) {
  for (const d of loaded.diagnostics) console.error(JSON.stringify(d));
  process.exit(2);
}

/** inotify watches this process holds, from the kernel's view of its inotify descriptors. */
const inotifyWatches = (): number => {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== "anon_inode:inotify") continue;
      n += readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("inotify wd:")).length;
    } catch {
      // the descriptor closed meanwhile
    }
  }
  return n;
};

const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);
let watchers = 0;
const live = await startLiveNode({
  config: loaded.config,
  journalPath,
  log: (line, detail) => console.log(`${nowUs()} ${detail ? "[detail] " : ""}${line}`),
  onWatcher: (open) => {
    watchers += open ? 1 : -1;
  },
  ...(maxSegmentBytes === undefined ? {} : { maxSegmentBytes: Number(maxSegmentBytes) }),
}).catch((e: unknown) => {
  // keepalived's permanent configuration error: logged, exit 1 (no stack trace, no crash).
  console.log(`${nowUs()} ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
console.log("ready");
process.on("SIGTERM", () => {
  void live.stop().then(async () => {
    // The runner signalled every script group; give them a moment to be reaped.
    for (let i = 0; i < 100 && live.ports.runner.running > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    console.log(
      `leftover watchers=${watchers} inotify=${inotifyWatches()} children=${live.ports.runner.running}`,
    );
    console.log("stopped");
    process.exit(0);
  });
});
