/**
 * Writes a swarm case (swarm.model.ts) as a scenario file in the runner's YAML format
 * (simulations/README.md): each node's keepalived.conf inline, the LANs with the seed's faults, the
 * safety-phase timeline, then the liveness phase's repairs at `healAtUs` (heal, faults off, links
 * up, scripts passing, stopped nodes restarted), and one expectation: `settled` — exactly one
 * MASTER per (LAN, VRID) from the liveness bound to the end. The same text is what the swarm runs
 * and what it writes for a failing seed, so `vigil simulate FILE` reproduces it. Pure.
 */
import { masterDownIntervalUs } from "../machines/timers.ts";
import { stretchUs } from "./oracle-setup.ts";
import type { SwarmAction, SwarmCase, SwarmEvent, SwarmGroup, SwarmNode } from "./swarm.model.ts";

const lanName = (lan: number): string => `lan${lan}`;
const ifName = (lan: number): string => `eth${lan}`;
const addr = (lan: number, host: number): string => `198.18.${lan}.${host}`;
const us = (t: number): string => `${t}us`;
const pct = (ppm: number): string => `${ppm / 10_000}%`;

/** A node's keepalived.conf. */
export function nodeConfig(c: SwarmCase, n: SwarmNode): string {
  const out: string[] = [];
  for (const s of n.scripts)
    out.push(
      `vrrp_script ${s.name} {`,
      `    script "/bin/true"`,
      `    interval ${s.intervalS}`,
      `    rise ${s.rise}`,
      `    fall ${s.fall}`,
      "}",
    );
  if (c.syncGroup && n.instances.length > 1)
    out.push(`vrrp_sync_group G1 {`, `    group { ${n.instances.map((i) => i.name).join(" ")} }`, "}");
  for (const i of n.instances) {
    const g = c.groups[i.group] as SwarmGroup;
    out.push(
      `vrrp_instance ${i.name} {`,
      `    interface ${ifName(g.lan)}`,
      `    version ${g.version}`,
      `    virtual_router_id ${g.vrid}`,
      `    priority ${i.priority}`,
      `    advert_int ${g.advertIntervalCs / 100}`,
    );
    if (i.nopreempt) out.push("    nopreempt");
    if (i.preemptDelayS > 0) out.push(`    preempt_delay ${i.preemptDelayS}`);
    if (g.auth)
      out.push("    authentication {", "        auth_type PASS", "        auth_pass swarm", "    }");
    if (g.unicast) {
      const peers = c.nodes.filter((m) => m !== n && m.instances.some((x) => x.group === i.group));
      out.push(`    unicast_src_ip ${addr(g.lan, n.host)}`);
      // One peer per line: keepalived reads a line as one peer (and its options).
      out.push("    unicast_peer {", ...peers.map((m) => `        ${addr(g.lan, m.host)}`), "    }");
    }
    if (i.track !== undefined)
      out.push(
        `    track_script { ${i.track.script}${i.track.weight === 0 ? "" : ` weight ${i.track.weight}`} }`,
      );
    out.push(`    virtual_ipaddress { ${addr(g.lan, 200 + (i.group % 50))}/24 }`, "}");
  }
  return out.join("\n");
}

/**
 * When the liveness phase must have settled for the case: the repairs' slowest tracker recovery
 * (a script's next run, then `rise` passes), then Master_Down at the lowest priority over the
 * largest advert interval, one more interval, and what the nodes' clocks add (drift, jitter).
 */
export function settledAtUs(c: SwarmCase): number {
  let recoveryUs = 0;
  for (const n of c.nodes)
    for (const s of n.scripts) recoveryUs = Math.max(recoveryUs, (s.rise + 1) * s.intervalS * 1_000_000);
  let boundUs = 0;
  const maxDrift = Math.max(0, ...c.nodes.map((n) => Math.abs(n.driftPpm)));
  const maxJitter = Math.max(0, ...c.nodes.map((n) => n.jitterUs));
  for (const g of c.groups) {
    const md = masterDownIntervalUs({
      version: g.version,
      priority: 1,
      masterAdverIntervalCs: g.advertIntervalCs,
    });
    boundUs = Math.max(
      boundUs,
      md + g.advertIntervalCs * 10_000 + stretchUs(md, maxDrift) + 2 * maxJitter + 1_000,
    );
  }
  return c.healAtUs + recoveryUs + boundUs;
}

const toggle = (set: Set<string>, key: string, on: boolean): void => {
  if (on) set.add(key);
  else set.delete(key);
};

/** The liveness phase's repairs: what the safety phase left broken, put right at `healAtUs`. */
export function repairs(c: SwarmCase): SwarmEvent[] {
  const down = new Set<string>();
  const linksDown = new Set<string>();
  const failing = new Set<string>();
  for (const { action: a } of c.timeline) {
    if (a.kind === "crash" || a.kind === "shutdown") down.add(a.node);
    if (a.kind === "restart") down.delete(a.node);
    if (a.kind === "link") toggle(linksDown, `${a.node}|${a.lan}`, !a.up);
    if (a.kind === "script") toggle(failing, `${a.node}|${a.name}`, !a.ok);
  }
  const at = c.healAtUs;
  const out: SwarmEvent[] = [{ atUs: at, action: { kind: "heal" } }];
  for (let lan = 0; lan < c.lans; lan++)
    out.push({ atUs: at, action: { kind: "faults", lan, lossPpm: 0, delayUs: 0 } });
  for (const k of [...linksDown].sort()) {
    const [node, lan] = k.split("|") as [string, string];
    out.push({ atUs: at, action: { kind: "link", node, lan: Number(lan), up: true } });
  }
  for (const k of [...failing].sort()) {
    const [node, name] = k.split("|") as [string, string];
    out.push({ atUs: at, action: { kind: "script", node, name, ok: true } });
  }
  for (const node of [...down].sort()) out.push({ atUs: at, action: { kind: "restart", node } });
  return out;
}

const list = (xs: readonly string[]): string => `[${xs.join(", ")}]`;

function actionYaml(a: SwarmAction): string {
  switch (a.kind) {
    case "partition":
      return `partition: ${list(a.groups.map(list))}`;
    case "oneway":
      return `partition: { from: ${list(a.from)}, to: ${list(a.to)} }`;
    case "heal":
      return "heal:";
    case "crash":
      return `crash: ${a.node}`;
    case "restart":
      return `restart: ${a.node}`;
    case "shutdown":
      return `shutdown: ${a.node}`;
    case "link":
      return `link: { node: ${a.node}, interface: ${ifName(a.lan)}, state: ${a.up ? "up" : "down"} }`;
    case "script":
      return `script: { node: ${a.node}, name: ${a.name}, result: ${a.ok ? "ok" : "fail"} }`;
    case "faults":
      return `faults: { lan: ${lanName(a.lan)}, loss: ${pct(a.lossPpm)}, delay: ${us(a.delayUs)} }`;
  }
}

/** The scenario file of a case (the runner's format); `note` goes in the opening comment. */
export function renderScenario(c: SwarmCase, note = ""): string {
  const f = c.faults;
  const out: string[] = [
    `# vigil swarm, seed ${c.seed}${note === "" ? "" : `: ${note}`}`,
    `# Safety phase with faults until ${us(c.healAtUs)}, then everything is repaired and exactly one`,
    "# MASTER per (LAN, VRID) must hold from the liveness bound (settled) to the end.",
    `name: swarm seed ${c.seed}`,
    `seed: ${c.seed}`,
    `duration: ${us(c.durationUs)}`,
    "lans:",
  ];
  for (let lan = 0; lan < c.lans; lan++)
    out.push(
      `  ${lanName(lan)}: { loss: ${pct(f.lossPpm)}, delay: ${us(f.delayUs)}, jitter: ${us(f.jitterUs)}, duplicate: ${pct(f.duplicatePpm)}, reorder: ${pct(f.reorderPpm)}, reorderWindow: ${us(f.reorderWindowUs)} }`,
    );
  out.push("nodes:");
  for (const n of c.nodes) {
    out.push(`  ${n.name}:`, "    interfaces:");
    const lans = [...new Set(n.instances.map((i) => (c.groups[i.group] as SwarmGroup).lan))].sort();
    if (lans.length === 0) lans.push(0);
    for (const lan of lans)
      out.push(`      ${ifName(lan)}: { lan: ${lanName(lan)}, ipv4: ${addr(lan, n.host)} }`);
    if (n.driftPpm !== 0 || n.jitterUs !== 0)
      out.push(`    clock: { drift: ${n.driftPpm}, jitter: ${us(n.jitterUs)} }`);
    out.push("    config: |");
    for (const line of nodeConfig(c, n).split("\n")) out.push(`      ${line}`);
  }
  const events = [...c.timeline, ...repairs(c)];
  out.push("timeline:");
  for (const e of events) out.push(`  - { at: ${us(e.atUs)}, ${actionYaml(e.action)} }`);
  out.push("expect:", `  - settled: { from: ${us(settledAtUs(c))} }`);
  return `${out.join("\n")}\n`;
}
