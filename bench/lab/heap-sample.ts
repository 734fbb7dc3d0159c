/**
 * What a running daemon allocates, by allocation site, from outside: V8's sampling heap profiler over
 * the inspector of a node started with `--inspect=127.0.0.1:PORT` (e.g. `VIGIL_NODE_ARGS` of
 * bench/lab/scale-pair.ts), for SECONDS. By default the objects collected by scavenges are left out,
 * so what it counts is what outlived the young generation — promoted, then left for a full GC, or
 * still live: what makes the full GCs. `all` counts every allocation. Prints bytes per second, total
 * and for the top 25 sites (function, bundle file:line, and the three calling functions).
 * Run in the daemon's namespace: `ip netns exec NS npx tsx bench/lab/heap-sample.ts PORT SECONDS [all]`
 * (INTERVAL, the sampling interval in bytes, default 256: larger disturbs the daemon less; SETTLE_MS,
 * default 5,000, waited before connecting).
 * The inspector connection itself slows the daemon; a BACKUP under a heavy flood may fall behind
 * while it is sampled. Not pure (network).
 */
import { createRequire } from "node:module";

// playwright-core (a dev dependency, for the browser tests) carries a WebSocket client; node 20 has none.
const { ws: WebSocket } = createRequire(import.meta.url)("playwright-core/lib/utilsBundle") as {
  ws: new (
    url: string,
  ) => {
    on(ev: "open" | "message", fn: (data?: unknown) => void): void;
    send(text: string): void;
    close(): void;
  };
};

interface SampleNode {
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly SampleNode[];
}

const [port = "9230", secondsText = "10", mode = "promoted"] = process.argv.slice(2);
const seconds = Number(secondsText);
// This process's own start (tsx compiling) is a burst of CPU: on a small machine, a daemon that
// fell behind under it would be sampled catching up. It settles first.
await new Promise((resolve) => setTimeout(resolve, Number(process.env.SETTLE_MS ?? 5_000)));
const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
  webSocketDebuggerUrl: string;
}>;
const target = list[0];
if (target === undefined) throw new Error(`no inspector target on port ${port}`);
const sock = new WebSocket(target.webSocketDebuggerUrl);
const waiting = new Map<number, (result: unknown) => void>();
let nextId = 0;
const call = (method: string, params: object = {}): Promise<unknown> =>
  new Promise((resolve) => {
    const id = ++nextId;
    waiting.set(id, resolve);
    sock.send(JSON.stringify({ id, method, params }));
  });
sock.on("message", (data) => {
  const m = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: unknown };
  if (m.id === undefined) return;
  waiting.get(m.id)?.(m.result ?? m.error);
  waiting.delete(m.id);
});
await new Promise((resolve) => sock.on("open", resolve));
await call("HeapProfiler.startSampling", {
  samplingInterval: Number(process.env.INTERVAL ?? 256),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: mode === "all",
});
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const { profile } = (await call("HeapProfiler.stopSampling")) as { profile: { head: SampleNode } };
sock.close();

const bySite = new Map<string, number>();
let total = 0;
const walk = (s: SampleNode, callers: readonly string[]): void => {
  const f = s.callFrame;
  const name = f.functionName || "(anonymous)";
  total += s.selfSize;
  if (s.selfSize > 0) {
    const site = `${name} ${f.url.split("/").at(-1)}:${f.lineNumber + 1} <= ${callers.slice(-3).join(" < ")}`;
    bySite.set(site, (bySite.get(site) ?? 0) + s.selfSize);
  }
  for (const c of s.children) walk(c, [...callers, name]);
};
walk(profile.head, []);
console.log(
  `${mode === "all" ? "allocated" : "outlived the young generation"}: ${(total / seconds / 1e6).toFixed(2)} MB/s`,
);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${(bytes / seconds / 1e3).toFixed(0).padStart(7)} KB/s  ${site}`);
