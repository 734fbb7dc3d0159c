/**
 * How a simulation result is shown on the terminal: the readable text report (timeline of state
 * changes, VIP moves, IPVS changes and faults per node; metrics; each node's IPVS table at the end
 * when virtual servers are configured; the verdict of every invariant and expectation)
 * and the JSON document (stable key order: byte-identical for the same scenario and seed). The HTML
 * report is src/viz/report/. Pure (text out).
 */
import type { SimResult, TimelineEntry } from "./runner.ts";

/** Virtual time for people: `3.414062s` (µs precision, no float noise). */
export const formatUs = (us: number): string => {
  const s = Math.floor(us / 1_000_000);
  const frac = String(us % 1_000_000)
    .padStart(6, "0")
    .replace(/0+$/, "");
  return frac === "" ? `${s}s` : `${s}.${frac}s`;
};

const col = (us: number): string => {
  const s = Math.floor(us / 1_000_000);
  return `${s}.${String(us % 1_000_000).padStart(6, "0")}s`.padStart(14);
};

const entryText = (e: TimelineEntry): string =>
  `${col(e.atUs)}  ${(e.node === "" ? "*" : e.node).padEnd(8)} ${e.kind === "state" ? "" : `${e.kind}: `}${e.text}`;

/** The text report, one line per entry; control characters cannot appear (names come from checked YAML). */
export function textReport(r: SimResult): string {
  const m = r.metrics;
  const lines: string[] = [];
  lines.push(
    `scenario ${r.scenario || r.file} (seed ${r.seed}, ${formatUs(r.durationUs)} virtual)`,
    "",
    "timeline:",
  );
  for (const e of r.timeline) lines.push(entryText(e));
  lines.push("", "metrics:");
  lines.push(
    `  split brain: ${m.splitBrain.length} interval(s), total ${formatUs(m.splitBrainTotalUs)}, longest ${formatUs(m.splitBrainMaxUs)}`,
  );
  for (const i of m.splitBrain)
    lines.push(
      `    ${i.group}: ${formatUs(i.fromUs)} .. ${formatUs(i.toUs)} (${formatUs(i.toUs - i.fromUs)})`,
    );
  lines.push(`  failovers: ${m.failovers.length}, longest ${formatUs(m.failoverMaxUs)}`);
  for (const i of m.failovers)
    lines.push(
      `    ${i.group}: no MASTER ${formatUs(i.fromUs)} .. ${formatUs(i.toUs)} (${formatUs(i.toUs - i.fromUs)})`,
    );
  for (const k of Object.keys(m.transitions))
    lines.push(`  ${k}: ${m.transitions[k]} transition(s), ${m.adverts[k] ?? 0} advert(s) sent`);
  if (r.ipvs !== undefined) {
    lines.push("", "ipvs at the end:");
    for (const [node, services] of Object.entries(r.ipvs)) {
      if (Object.keys(services).length === 0) lines.push(`  ${node}: (empty)`);
      for (const [service, dests] of Object.entries(services)) {
        const text = Object.entries(dests).map(([d, w]) => `${d} weight ${w}`);
        lines.push(`  ${node} ${service}: ${text.join(", ") || "(no destination)"}`);
      }
    }
  }
  lines.push("", "invariants:");
  for (const v of r.invariants)
    lines.push(
      `  ${v.ok ? "PASS" : "FAIL"} ${v.name}: ${v.atUs === undefined ? "" : `at ${formatUs(v.atUs)}: `}${v.detail}`,
    );
  lines.push("", "expectations:");
  if (r.expectations.length === 0) lines.push("  (none)");
  for (const v of r.expectations) lines.push(`  ${v.ok ? "PASS" : "FAIL"} ${v.name}: ${v.detail}`);
  lines.push("", `${r.ok ? "PASS" : "FAIL"}  run hash ${r.hash}`, "");
  return lines.join("\n");
}

/** The result as one JSON document (the object's own key order, no whitespace variance). */
export const jsonReport = (r: SimResult): string => `${JSON.stringify(r)}\n`;
