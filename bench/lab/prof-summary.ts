/**
 * Summarises V8 CPU profiles (`node --cpu-prof`): self time by function and by file, top N, as
 * percentages of the sampled time. Used to find where the daemon's receive path spends its time
 * (bench/daemon-rx.bench.ts with PROF=DIR). `npx tsx bench/lab/prof-summary.ts FILE.cpuprofile [N [FUNCTION]]` (with FUNCTION, only samples under that
 * function, e.g. `onRecvReady` for the raw IPv4 socket's receive path; or a part of `name url:line`).
 * `FROM_S` / `TO_S`: only the samples taken that many seconds after the profile started (leave out
 * start-up and warm-up).
 * Pure apart from reading the file and printing.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file = "", topText = "40", under] = process.argv.slice(2);
const top = Number(topText);
const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
/**
 * A frame is FUNCTION when its name is FUNCTION, or when FUNCTION is a part of `name url:line`
 * (for anonymous callbacks of a bundle, e.g. `raw4.socket.ts` or `daemon-ABC.js:5526`).
 */
const matches = (n: ProfileNode | undefined, what: string): boolean => {
  const f = n?.callFrame;
  if (f === undefined) return false;
  return (
    f.functionName === what ||
    `${f.functionName || "(anonymous)"} ${f.url}:${f.lineNumber + 1}`.includes(what)
  );
};
/** With a third argument, only samples with that function somewhere on their stack count. */
const counts = (id: number): boolean => {
  if (under === undefined) return true;
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at))
    if (matches(byId.get(at), under)) return true;
  return false;
};
/** FROM_S / TO_S (seconds after the profile started): only samples in that window (the steady state). */
const fromUs = Number(process.env.FROM_S ?? 0) * 1e6;
const toUs = Number(process.env.TO_S ?? Number.POSITIVE_INFINITY) * 1e6;
const selfUs = new Map<number, number>();
let atUs = 0;
p.samples.forEach((id, i) => {
  atUs += p.timeDeltas[i] ?? 0;
  if (atUs < fromUs || atUs > toUs) return;
  if (counts(id)) selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byId.get(id)?.callFrame;
  const url = (f?.url ?? "").replace(/^file:\/\/.*?\/(node_modules|src|transports|machines|bench)\//, "$1/");
  const fn = `${f?.functionName || "(anonymous)"} ${url}:${(f?.lineNumber ?? 0) + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  byFile.set(url || "(native/vm)", (byFile.get(url || "(native/vm)") ?? 0) + us);
}
// Inclusive time: a sample counts once for every distinct function on its stack.
const label = (n: ProfileNode | undefined): string => {
  const f = n?.callFrame;
  const url = (f?.url ?? "").replace(/^file:\/\/.*?\/(node_modules|src|transports|machines|bench)\//, "$1/");
  return `${f?.functionName || "(anonymous)"} ${url}`;
};
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at))
    seen.add(label(byId.get(at)));
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1e6).toFixed(2)} s sampled)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
};
show("self time by function", byFn);
show("self time by file", byFile);
show("inclusive time by function", inclusive);
