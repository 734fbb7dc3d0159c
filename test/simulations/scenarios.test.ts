/**
 * The shipped scenarios (simulations/scenarios/*.yaml and the quickstart) all pass; `vigil simulate`
 * prints the same JSON for the same file and seed and another for another seed; its journals
 * replay on their own with `vigil replay --verify`; the HTML report is written; keepalived's exact
 * takeover times in the two-node partition story.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../simulations/runner.ts";
import { loadScenario } from "../../simulations/scenario.load.ts";
import { replayCommand } from "../../src/cli/replay.ts";
import { simulateCommand } from "../../src/cli/simulate.ts";
import { tempDirForTest } from "../support/temp.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const scenarioDir = join(root, "simulations/scenarios");
const shipped = [
  ...readdirSync(scenarioDir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join("simulations/scenarios", f)),
  "simulations/quickstart.yaml",
];

async function simulate(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await simulateCommand.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe("shipped scenarios", () => {
  it("there are scenarios, each opening with a prose comment", () => {
    expect(shipped.length).toBeGreaterThanOrEqual(15);
    for (const f of shipped) expect(readFileSync(join(root, f), "utf8"), f).toMatch(/^# \S.+\n# /);
  });

  it.each(shipped)("%s passes every invariant and expectation", (file) => {
    const r = runScenario(loadScenario(join(root, file)));
    const failed = [...r.invariants, ...r.expectations].filter((v) => !v.ok);
    expect(failed).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.expectations.length).toBeGreaterThan(0);
  });

  it("two-node partition: keepalived's exact takeover times", () => {
    const r = runScenario(loadScenario(join(root, "simulations/scenarios/two-node-partition.yaml")));
    const states = r.timeline.filter((e) => e.kind === "state").map((e) => `${e.atUs} ${e.node} ${e.text}`);
    expect(states).toEqual([
      "0 lb1 VI_1 INIT -> BACKUP",
      "0 lb2 VI_1 INIT -> BACKUP",
      // lb1 (150): 3 s + (256 - 150) / 256 s
      "3414062 lb1 VI_1 BACKUP -> MASTER",
      // lb2 (100): lb1's last advert before the partition (9,414,062 µs) + 3,609,375 µs
      "13023437 lb2 VI_1 BACKUP -> MASTER",
      // lb2's next advert reaches lb1, which answers at once with priority 150; lb2 yields
      "20023437 lb2 VI_1 MASTER -> BACKUP",
      "30000000 lb1 VI_1 MASTER -> STOP",
      // priority-0 advert: skew only, (256 - 100) / 256 s
      "30609375 lb2 VI_1 BACKUP -> MASTER",
    ]);
    expect(r.metrics.splitBrainTotalUs).toBe(7_000_000);
    expect(r.metrics.failovers).toEqual([{ group: "lan|51|v4", fromUs: 30_000_000, toUs: 30_609_375 }]);
  });
});

describe("vigil simulate", () => {
  const quickstart = join(root, "simulations/quickstart.yaml");

  it("prints the timeline, metrics and verdicts, and exits 0 when all pass", async () => {
    const r = await simulate([quickstart]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/timeline:\n/);
    expect(r.out).toMatch(/lb2 +VI_1 BACKUP -> MASTER/);
    expect(r.out).toMatch(/lb1 +fault: crash/);
    expect(r.out).toMatch(/vip: \+ 198\.18\.0\.100\/24/);
    expect(r.out).toMatch(/split brain: \d+ interval\(s\), total /);
    expect(r.out).toMatch(/PASS single-master: held/);
    expect(r.out).toMatch(/PASS lb2 VI_1 is MASTER at 58s/);
    expect(r.out).toMatch(/\nPASS {2}run hash [0-9a-f]{64}\n$/);
  });

  it("--json is byte-identical for the same file and seed, and differs with another seed", async () => {
    const a = await simulate([quickstart, "--json", "--seed", "7"]);
    const b = await simulate([quickstart, "--json", "--seed", "7"]);
    const c = await simulate([quickstart, "--json", "--seed", "8"]);
    expect(a.code).toBe(0);
    expect(b.out).toBe(a.out);
    expect(c.out).not.toBe(a.out);
    const doc = JSON.parse(a.out) as { seed: number; ok: boolean; hash: string; invariants: unknown[] };
    expect(doc).toMatchObject({ seed: 7, ok: true });
    expect(doc.invariants).toHaveLength(6);
    expect(JSON.parse(c.out).hash).not.toBe(doc.hash);
  });

  it("a seed also changes a lossless run (start offsets are drawn from it)", () => {
    const loaded = loadScenario(join(root, "simulations/scenarios/master-dies-haproxy.yaml"));
    const hashes = new Set([1, 2, 3].map((seed) => runScenario(loaded, { seed }).hash));
    expect(hashes.size).toBe(3);
    expect(runScenario(loaded, { seed: 2 }).hash).toBe(runScenario(loaded, { seed: 2 }).hash);
  });

  it("loss is drawn from the seed too: a lossy LAN differs between seeds", () => {
    const loaded = loadScenario(join(root, "simulations/scenarios/lossy-lan.yaml"));
    const adverts = new Set(
      [1, 2, 3].map((seed) => JSON.stringify(runScenario(loaded, { seed }).metrics.adverts)),
    );
    expect(adverts.size).toBeGreaterThan(1);
  });

  it.each([
    [
      "crash-restart",
      ["lb1.jsonl", "lb1.run2.jsonl", "lb1.run3.000001.jsonl", "lb1.run3.000002.jsonl", "lb2.jsonl"],
    ],
    ["resume-master-lost-vips", ["lb1.jsonl", "lb1.run2.000001.jsonl", "lb1.run2.000002.jsonl", "lb2.jsonl"]],
    ["clock-drift", ["lb1.jsonl", "lb2.jsonl"]],
    ["config-reload", ["lb1.jsonl", "lb2.jsonl"]],
  ])(
    "--journal-dir (%s): every daemon's journal passes vigil replay --verify on its own",
    async (name, expected) => {
      const dir = tempDirForTest("vigil-sim-journals-");
      const r = await simulate([join(root, `simulations/scenarios/${name}.yaml`), "--journal-dir", dir]);
      expect(r.code).toBe(0);
      // crash-restart: the first run, a fresh restart, a resumed run (an empty segment, then the checkpointed one).
      const files = readdirSync(dir).sort();
      expect(files).toEqual(expected);
      for (const f of files) {
        let err = "";
        const code = await replayCommand.run(["--verify", join(dir, f)], {
          stdout: () => {},
          stderr: (t) => (err += t),
        });
        expect({ f, code, err }).toEqual({
          f,
          code: 0,
          err: expect.stringMatching(/vigil replay: verify ok: \d+ events/),
        });
      }
      if (name === "resume-master-lost-vips") {
        // the host's lost VIP reaches the resumed node as a journaled netlink-style input
        const text = readFileSync(join(dir, "lb1.run2.000002.jsonl"), "utf8");
        expect(text).toMatch(/"kind":"address","ifname":"eth0","address":"198.18.0.100","prefixLength":24/);
        expect(text).toMatch(/"present":false/);
      }
      if (name === "config-reload") {
        const text = readFileSync(join(dir, "lb2.jsonl"), "utf8");
        expect(text).toMatch(/"kind":"reload"/);
      }
    },
  );

  it("--report writes a self-contained HTML page naming the scenario and its verdicts", async () => {
    const dir = tempDirForTest("vigil-sim-report-");
    const report = join(dir, "report.html");
    const r = await simulate([quickstart, "--report", report]);
    expect(r.code).toBe(0);
    const html = readFileSync(report, "utf8");
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain("quickstart");
    expect(html).toContain("single-master");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("exits 1 when an expectation fails", async () => {
    const dir = tempDirForTest("vigil-sim-fail-");
    const file = join(dir, "s.yaml");
    const text = readFileSync(join(root, "simulations/scenarios/two-node-partition.yaml"), "utf8")
      .replace("../configs/", `${join(root, "simulations/configs")}/`)
      .replace("../configs/", `${join(root, "simulations/configs")}/`)
      .replace("maxSplitBrain: 7s", "maxSplitBrain: 6s");
    (await import("node:fs")).writeFileSync(file, text);
    const r = await simulate([file]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL split brain at most 6s: longest 7s/);
  });

  it.each([
    [[]],
    [["a.yaml", "b.yaml"]],
    [["x.yaml", "--seed", "-1"]],
    [["x.yaml", "--seed", "4294967296"]],
    [["x.yaml", "--bogus"]],
  ])("%j is a usage error (64)", async (args) => {
    const r = await simulate(args);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/^vigil simulate: .+\nusage: vigil simulate FILE/);
  });
});
