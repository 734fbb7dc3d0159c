/**
 * Simulation benchmark (issue 12): the scenario runner (simulations/runner.ts) — the daemon's own
 * Node code, one VirtualClock, the simulated network, the oracles — on (1) a 3-node cluster for
 * 24 h of virtual time at advert_int 1 (goal ≤ 2 s wall) and (2) 1,000 nodes (500 two-node
 * clusters, one LAN each) for 1 virtual hour: wall time, virtual/wall ratio, heap after the run.
 * Scenarios are generated as YAML text and loaded like files. Run: `npx tsx --expose-gc
 * bench/simulate.bench.ts` (BENCH_SIM_HOURS, BENCH_SIM_NODES, BENCH_SIM_SCALE_HOURS override the sizes). Not a test:
 * prints figures.
 */

import { runScenario } from "../simulations/runner.ts";
import { loadScenarioText } from "../simulations/scenario.load.ts";

const gc = (globalThis as { gc?: () => void }).gc;

const conf = (prio: number, vrid: number, ip: string): string =>
  [
    `      vrrp_instance VI_${vrid} {`,
    "          interface eth0",
    `          virtual_router_id ${(vrid % 255) + 1}`,
    `          priority ${prio}`,
    "          advert_int 1",
    `          mcast_src_ip ${ip}`,
    `          virtual_ipaddress { 198.19.${vrid >> 8}.${vrid & 255}/32 }`,
    "      }",
    "",
  ].join("\n");

/** `clusters` two-node clusters (lans c0, c1, …) plus `extra` nodes on c0, for `hours` hours. */
function scenario(clusters: number, hours: number, extra = 0): string {
  const lines = [`duration: ${hours}h`, "lans:"];
  for (let c = 0; c < clusters; c++) lines.push(`  c${c}:`);
  lines.push("nodes:");
  let k = 0;
  const node = (lan: number, prio: number): void => {
    k++;
    const ip = `198.18.${k >> 8}.${k & 255}`;
    lines.push(
      `  n${k}:`,
      `    interfaces: { eth0: { lan: c${lan}, ipv4: ${ip} } }`,
      "    config: |",
      conf(prio, lan, ip),
    );
  };
  for (let c = 0; c < clusters; c++) {
    node(c, 150);
    node(c, 100);
  }
  for (let e = 0; e < extra; e++) node(0, 50 + e);
  return lines.join("\n");
}

function measure(label: string, text: string): void {
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const loaded = loadScenarioText(`${label}.yaml`, text);
  const t1 = performance.now();
  const r = runScenario(loaded, { seed: 1 });
  const t2 = performance.now();
  const heapAfter = process.memoryUsage().heapUsed;
  const adverts = Object.values(r.metrics.adverts).reduce((a, b) => a + b, 0);
  const virtualS = r.durationUs / 1e6;
  const wallS = (t2 - t1) / 1000;
  console.log(
    `${label}: load ${((t1 - t0) / 1000).toFixed(2)} s, run ${wallS.toFixed(2)} s wall for ${virtualS} s virtual ` +
      `(${Math.round(virtualS / wallS)}× real time), ${adverts} adverts sent, ` +
      `heap +${((heapAfter - heap0) / 1048576).toFixed(0)} MiB after the run, verdict ${r.ok ? "PASS" : "FAIL"}`,
  );
}

const hours = Number(process.env.BENCH_SIM_HOURS ?? 24);
const nodes = Number(process.env.BENCH_SIM_NODES ?? 1000);
const scaleHours = Number(process.env.BENCH_SIM_SCALE_HOURS ?? 1);
console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
measure(`3 nodes x ${hours} h`, scenario(1, hours, 1));
measure(`${nodes} nodes x ${scaleHours} h`, scenario(Math.floor(nodes / 2), scaleHours));
