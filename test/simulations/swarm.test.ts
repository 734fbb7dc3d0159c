/**
 * `vigil swarm`: the generated family stays inside what keepalived makes single-master (one auth,
 * version and interval per group, one owner…), a fixed set of seeds plus some derived from the
 * commit pass safety, liveness and the determinism self-check on worker threads, the self-check
 * and the oracles can fail (a nondeterministic host, a deliberately broken BACKUP deaf to
 * higher-priority adverts), a failure is shrunk to a short scenario file that `vigil simulate`
 * loads and that still fails with the broken variant, and the command's options and exit codes.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type RunOptions, runScenario } from "../../simulations/runner.ts";
import { loadScenarioText } from "../../simulations/scenario.load.ts";
import { ddmin, shrinkCase } from "../../simulations/shrink.ts";
import type { InboundFilter } from "../../simulations/sim-host.ts";
import { generateCase } from "../../simulations/swarm.model.ts";
import { runSeeds } from "../../simulations/swarm.pool.ts";
import { renderScenario } from "../../simulations/swarm.render.ts";
import { checkCase } from "../../simulations/swarm.run.ts";
import { runSwarm } from "../../simulations/swarm.ts";
import { simulateCommand } from "../../src/cli/simulate.ts";
import { swarmCommand } from "../../src/cli/swarm.ts";
import { tempDirForTest } from "../support/temp.ts";

const MINUTE = 60_000_000;

/** Test-only broken variant: every node drops adverts of a higher priority than its own. */
const deafToHigher: InboundFilter = (host, d) => {
  const own = host.spec.instances.find((i) => i.params.vrid === d.bytes[1])?.params.basePriority ?? 0;
  return (d.bytes[2] ?? 0) > own;
};
const BROKEN: RunOptions = { dropInbound: deafToHigher };

/** 20 fixed seeds and 5 derived from the commit under test (a fixed fallback outside git). */
function ciSeeds(): number[] {
  let head = "0000000000000000000000000000000000000000";
  try {
    head = execFileSync("git", ["rev-parse", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    // Not a git checkout: the fallback.
  }
  const derived = Array.from(
    { length: 5 },
    (_, i) => Number.parseInt(head.slice(i * 8, i * 8 + 8) || "0", 16) >>> 0,
  );
  return [...Array.from({ length: 20 }, (_, i) => i + 1), ...derived];
}

async function swarmCli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await swarmCommand.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe("swarm family", () => {
  it("a seed always gives the same case; the family keeps what makes a single MASTER well defined", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const c = generateCase(seed);
      expect(generateCase(seed)).toEqual(c);
      expect(c.nodes.length).toBeGreaterThanOrEqual(2);
      expect(c.nodes.length).toBeLessThanOrEqual(5);
      c.groups.forEach((g, gi) => {
        const members = c.nodes.flatMap((n) => n.instances.filter((i) => i.group === gi));
        // At most one address owner per group, and never with nopreempt or a tracker.
        const owners = members.filter((i) => i.priority === 255);
        expect(owners.length).toBeLessThanOrEqual(1);
        for (const o of owners)
          expect([o.nopreempt, o.preemptDelayS, o.track]).toEqual([false, 0, undefined]);
        // Authentication only on v2 (the same for every member, by construction of the group).
        if (g.auth) expect(g.version).toBe(2);
      });
      // A sync group ranks the nodes alike in every group.
      if (c.syncGroup)
        for (const n of c.nodes) {
          const [a, b] = n.instances;
          expect([b?.priority, b?.nopreempt, b?.preemptDelayS]).toEqual([
            a?.priority,
            a?.nopreempt,
            a?.preemptDelayS,
          ]);
        }
      for (const e of c.timeline) expect(e.atUs).toBeLessThan(c.healAtUs);
      // The text is a valid scenario for the runner's own loader.
      if (seed <= 60) expect(() => loadScenarioText(`s${seed}.yaml`, renderScenario(c))).not.toThrow();
    }
  });

  it("the family covers what the brief lists", () => {
    const cases = Array.from({ length: 300 }, (_, i) => generateCase(i + 1));
    const any = (f: (c: (typeof cases)[number]) => boolean): boolean => cases.some(f);
    expect(any((c) => c.groups.some((g) => g.version === 2))).toBe(true);
    expect(any((c) => c.groups.some((g) => g.version === 3))).toBe(true);
    expect(any((c) => c.groups.some((g) => g.unicast))).toBe(true);
    expect(any((c) => c.groups.some((g) => g.auth))).toBe(true);
    expect(any((c) => c.syncGroup && c.lans === 2)).toBe(true);
    expect(any((c) => c.nodes.some((n) => n.instances.some((i) => i.priority === 255)))).toBe(true);
    expect(any((c) => c.nodes.some((n) => n.instances.some((i) => i.nopreempt)))).toBe(true);
    expect(any((c) => c.nodes.some((n) => n.instances.some((i) => i.preemptDelayS > 0)))).toBe(true);
    expect(any((c) => c.nodes.some((n) => n.instances.some((i) => i.track !== undefined)))).toBe(true);
    const prios = (c: (typeof cases)[number]) => c.nodes.map((n) => n.instances[0]?.priority);
    expect(any((c) => new Set(prios(c)).size < c.nodes.length)).toBe(true);
    const kinds = new Set(cases.flatMap((c) => c.timeline.map((e) => e.action.kind)));
    expect([...kinds].sort()).toEqual(
      ["crash", "faults", "heal", "link", "oneway", "partition", "restart", "script", "shutdown"].sort(),
    );
  });
});

describe("swarm runs", () => {
  it("CI seeds (20 fixed + 5 from the commit) pass safety, liveness and the determinism check on 2 workers", async () => {
    const seeds = ciSeeds();
    const outcomes = await runSeeds({ seeds, jobs: 2, durationUs: 10 * MINUTE });
    expect(outcomes.map((o) => o.seed)).toEqual(seeds);
    const bad = outcomes.filter((o) => !o.ok).map((o) => `${o.params}\n  ${o.failures.join("\n  ")}`);
    expect(bad).toEqual([]);
    for (const o of outcomes) expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the determinism self-check fails with its own message when two runs differ", () => {
    // A host whose packet drops depend on something outside the seed.
    let calls = 0;
    const flaky: RunOptions = { dropInbound: () => calls++ % 7 === 3 && calls < 40 };
    const o = checkCase(generateCase(4, 2 * MINUTE), flaky);
    expect(o.status).toBe("nondeterministic");
    expect(o.failures[0]).toMatch(
      /^nondeterminism: two runs of the same seed gave hashes [0-9a-f]{64} and [0-9a-f]{64}$/,
    );
  });

  it("catches a broken BACKUP (deaf to higher-priority adverts) and shrinks it to a short failing scenario", async () => {
    const dir = tempDirForTest("vigil-swarm-");
    const lines: string[] = [];
    const summary = await runSwarm({
      firstSeed: 1,
      count: 1,
      jobs: 1,
      durationUs: 10 * MINUTE,
      outDir: dir,
      shrink: true,
      variant: BROKEN,
      print: (l) => lines.push(l),
    });
    expect(summary.ok).toBe(false);
    const f = summary.failures[0];
    expect(f?.reproduce).toBe(`vigil swarm --seed ${f?.seed} --seeds 1`);
    expect(lines).toContain(`seed ${f?.seed} failed (fail); reproduce: ${f?.reproduce}`);
    expect(f?.failing).toBe("single-master");
    expect(f?.events).toBeLessThanOrEqual(2);
    expect(f?.nodes).toBe(2);
    const file = f?.scenario as string;
    expect(lines).toContain(`  ${file} (vigil simulate ${file})`);
    expect(existsSync(f?.report as string)).toBe(true);
    const text = readFileSync(file, "utf8");
    const loaded = loadScenarioText(file, text);
    // The runner call `vigil simulate` makes, with the broken variant: still fails the same way…
    const broken = runScenario(loaded, BROKEN);
    expect(broken.invariants.find((v) => v.name === "single-master")?.ok).toBe(false);
    // …and the same file with the real daemon passes (`vigil simulate FILE` exits 0).
    let out = "";
    const code = await simulateCommand.run([file], { stdout: (t) => (out += t), stderr: () => {} });
    expect(code, out).toBe(0);
  });

  it("ddmin finds a 1-minimal failing subset", () => {
    const calls: number[][] = [];
    const min = ddmin([1, 2, 3, 4, 5, 6, 7, 8], (xs) => {
      calls.push([...xs]);
      return xs.includes(3) && xs.includes(6);
    });
    expect(min).toEqual([3, 6]);
    expect(ddmin([1, 2, 3], () => true)).toEqual([]);
  });

  it("shrinking keeps the first failure and drops what does not matter (faults, events, nodes)", () => {
    const c = generateCase(5, 4 * MINUTE);
    const r = shrinkCase(c, BROKEN);
    expect(r.failing).toBe("single-master");
    expect(r.shrunk.nodes.length).toBe(2);
    expect(r.shrunk.faults).toMatchObject({
      lossPpm: 0,
      delayUs: 0,
      jitterUs: 0,
      duplicatePpm: 0,
      reorderPpm: 0,
    });
    expect(r.shrunk.durationUs).toBeLessThan(c.durationUs);
    expect(r.runs).toBeLessThan(400);
  });
});

describe("vigil swarm", () => {
  it("runs seeds, prints each seed's parameters first, exits 0", async () => {
    const r = await swarmCli(["--seed", "7", "--seeds", "2", "--jobs", "1", "--duration", "40s"]);
    expect(r.code, r.out + r.err).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^seed 7: nodes=\d .*loss=.*delay=.*partitions\/h=\d+ crashes\/h=\d+/);
    expect(lines[1]).toMatch(/^ {2}PASS [0-9a-f]{16}$/);
    expect(lines[2]).toMatch(/^seed 8: /);
    expect(lines.at(-1)).toMatch(/^swarm: 2 seed\(s\) from 7: 2 passed, 0 failed \(0 nondeterministic\)/);
  });

  it("--json prints one document; the same seeds give the same outcomes", async () => {
    const a = await swarmCli(["--seed", "3", "--seeds", "2", "--jobs", "2", "--duration", "30s", "--json"]);
    const b = await swarmCli(["--seed", "3", "--seeds", "2", "--jobs", "1", "--duration", "30s", "--json"]);
    expect(a.code).toBe(0);
    const strip = (t: string) => ({ ...JSON.parse(t), wallMs: 0 });
    expect(strip(a.out)).toEqual(strip(b.out));
    expect(strip(a.out).outcomes.map((o: { seed: number }) => o.seed)).toEqual([3, 4]);
  });

  it("refuses bad options with exit 64", async () => {
    for (const args of [
      ["--seeds", "0"],
      ["--seed", "-1"],
      ["--jobs", "x"],
      ["--duration", "5s"],
      ["--bogus"],
    ]) {
      const r = await swarmCli(args);
      expect(r.code, args.join(" ")).toBe(64);
      expect(r.err).toMatch(/usage: vigil swarm/);
    }
  });
});
