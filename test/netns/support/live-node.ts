/**
 * Runs one Vigil node on the real host of a lab namespace (src/daemon/live-node.ts): raw sockets,
 * rtnetlink VIPs, GARP/NA, notify scripts and FIFOs, a file journal.
 *
 *   live-node.ts CONFIG JOURNAL      prints every log line as `<epoch µs> <line>` on stdout,
 *                                    `ready` once started; on SIGTERM shuts down as keepalived
 *                                    does, prints `stopped` and exits 0.
 *
 * A config with errors exits 2 with its diagnostics on stderr. Not pure (it is a daemon).
 */
import { readInterfaceMtu } from "../../../src/cli/host-checks.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { startLiveNode } from "../../../src/daemon/live-node.ts";

const [configPath = "", journalPath = ""] = process.argv.slice(2);
const loaded = loadConfig(configPath, { interfaceMtu: (ifname) => readInterfaceMtu(ifname) });
if (loaded.config === undefined) {
  for (const d of loaded.diagnostics) console.error(JSON.stringify(d));
  process.exit(2);
}
const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);
const live = await startLiveNode({
  config: loaded.config,
  journalPath,
  log: (line, detail) => console.log(`${nowUs()} ${detail ? "[detail] " : ""}${line}`),
});
console.log("ready");
process.on("SIGTERM", () => {
  void live.stop().then(() => {
    console.log("stopped");
    process.exit(0);
  });
});
