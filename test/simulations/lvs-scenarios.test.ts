/**
 * LVS under `vigil simulate`: the shipped story (scenarios/lvs-real-server-failover.yaml) follows
 * keepalived's probe timing to the microsecond (delay_loop, retry, delay_before_retry,
 * connect_timeout, HTTP's second good pass); warmup draws come from the seed (same seed: the same
 * bytes; another: other draws); every journal, checker inputs included, passes `vigil replay
 * --verify`; a load balancer resumed from a checkpoint keeps its checkers' state (and re-runs the
 * probes that died with it), a fresh one starts over; the IPVS table goes with the host, stays
 * after a kill -9, and is emptied by a shutdown; a reload starts new virtual servers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runScenario, type SimResult } from "../../simulations/runner.ts";
import { loadScenario, loadScenarioText } from "../../simulations/scenario.load.ts";
import { replayCommand } from "../../src/cli/replay.ts";
import { simulateCommand } from "../../src/cli/simulate.ts";
import { readJournal } from "../../src/runtime/journal.ts";
import { tempDirForTest } from "../support/temp.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const scenarios = join(root, "simulations/scenarios");
const STORY = join(scenarios, "lvs-real-server-failover.yaml");
const VS = "[198.18.0.100]:tcp:80";
const RS1 = "[198.18.0.11]:tcp:80";
const RS2 = "[198.18.0.12]:tcp:80";
const SORRY = "[198.18.0.30]:tcp:80";

async function simulate(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await simulateCommand.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

async function verifyAll(dir: string): Promise<string[]> {
  const files = readdirSync(dir).sort();
  for (const f of files) {
    let err = "";
    const code = await replayCommand.run(["--verify", join(dir, f)], {
      stdout: () => {},
      stderr: (t) => (err += t),
    });
    expect({ f, code, err }).toEqual({ f, code: 0, err: expect.stringMatching(/verify ok: \d+ events/) });
  }
  return files;
}

type Line = {
  t: string;
  seq?: number;
  ev?: {
    seq: number;
    atUs: number;
    input: { kind: string; event?: { type: string; warmupDraws?: number[] } };
  };
  out?: Array<{ type: string; rs?: number; checker?: number }>;
};

/** A journal's lines (every segment of `node`'s incarnation files matching `prefix`). */
function journal(dir: string, prefix: string): Line[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix))
    .sort()
    .flatMap((f) => {
      const j = readJournal(readFileSync(join(dir, f), "utf8"));
      if (!j.ok) throw new Error(`${f}: ${j.error.message}`);
      return j.lines as Line[];
    });
}

/** When each probe of real server `rs` started (µs), from the journal's `probe` outputs. */
function probeTimes(lines: readonly Line[], rs: number): number[] {
  const at = new Map<number, number>();
  for (const l of lines) if (l.t === "in" && l.ev !== undefined) at.set(l.ev.seq, l.ev.atUs);
  return lines.flatMap((l) =>
    l.t === "out"
      ? (l.out ?? []).filter((o) => o.type === "probe" && o.rs === rs).map(() => at.get(l.seq ?? -1) ?? -1)
      : [],
  );
}

const ipvsLines = (r: SimResult, node: string): string[] =>
  r.timeline.filter((e) => e.node === node && e.kind === "ipvs").map((e) => `${e.atUs} ${e.text}`);

const failed = (r: SimResult) => [...r.invariants, ...r.expectations].filter((v) => !v.ok);

describe("the shipped LVS story, against keepalived's timing", () => {
  it("probes when keepalived probes, and changes IPVS when keepalived does", async () => {
    const dir = tempDirForTest("vigil-sim-lvs-");
    const r = runScenario(loadScenario(STORY), { journalDir: dir });
    expect(failed(r)).toEqual([]);
    const lb1 = journal(dir, "lb1.");
    // TCP_CHECK of .11: 1 s after start, then delay_loop after each result (answers take 1 ms);
    // refused from 10 s: two retries delay_before_retry apart; hung from 20 s: each probe ends at
    // connect_timeout, retries go on though it is down; answering from 40 s.
    const s = (x: number) => Math.round(x * 1_000_000);
    expect(probeTimes(lb1, 0)).toEqual(
      [1, 7.001, 13.002, 14.003, 15.004, 21.005, 24.005, 27.005, 35.005, 38.005, 41.005, 47.006, 53.007]
        .concat([59.008, 65.009, 71.01, 77.011, 83.012, 89.013, 95.014])
        .map(s),
    );
    // HTTP_GET of .12: hung from 50 s (3 s timeouts, one retry 2 s later), then failed-url pace
    // max(delay_before_retry, delay_loop); answering from 85 s: two good passes.
    expect(probeTimes(lb1, 1)).toEqual(
      [1, 7.001, 13.002, 19.003, 25.004, 31.005, 37.006, 43.007, 49.008, 55.009, 60.009, 69.009]
        .concat([78.009, 84.01, 90.011, 96.012])
        .map(s),
    );
    expect(ipvsLines(r, "lb1")).toEqual([
      `0 + service ${VS}`,
      `0 ${VS} + ${RS1} weight 1`,
      `0 ${VS} + ${RS2} weight 1`,
      `15005000 ${VS} - ${RS1}`,
      `15005000 ${VS} - ${RS2}`,
      `15005000 ${VS} + ${SORRY} weight 1`,
      `41006000 ${VS} - ${SORRY}`,
      `41006000 ${VS} + ${RS1} weight 1`,
      `41006000 ${VS} + ${RS2} weight 1`,
      `63009000 ${VS} - ${RS2}`,
      `63009000 ${VS} - ${RS1}`,
      `63009000 ${VS} + ${SORRY} weight 1`,
      `96013000 ${VS} - ${SORRY}`,
      `96013000 ${VS} + ${RS1} weight 1`,
      `96013000 ${VS} + ${RS2} weight 1`,
      `98000000 ${VS} - ${RS1}`,
      `98000000 ${VS} - ${RS2}`,
      `98000000 - service ${VS}`,
    ]);
    expect(r.ipvs).toEqual({ lb1: {}, lb2: { [VS]: { [RS1]: 1, [RS2]: 1 } } });
    // the checkers' inputs are in the journal, and every journal replays
    const kinds = new Set(lb1.flatMap((l) => (l.ev?.input.kind === "check" ? [l.ev.input.event?.type] : [])));
    expect(kinds).toEqual(new Set(["START", "RESULT"]));
    expect(lb1.some((l) => l.ev?.input.kind === "timer" && JSON.stringify(l).includes('"actor":"vs:'))).toBe(
      true,
    );
    expect(await verifyAll(dir)).toEqual(["lb1.jsonl", "lb2.jsonl"]);
  });

  it("the text report shows the IPVS changes and the tables at the end", async () => {
    const r = await simulate([STORY]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /15\.005000s {2}lb1 {6}ipvs: \[198\.18\.0\.100\]:tcp:80 \+ \[198\.18\.0\.30\]:tcp:80 weight 1/,
    );
    expect(r.out).toMatch(/fault: realServer \[198\.18\.0\.11\]:80 down/);
    expect(r.out).toMatch(
      /ipvs at the end:\n {2}lb1: \(empty\)\n {2}lb2 \[198\.18\.0\.100\]:tcp:80: \[198\.18\.0\.11\]:tcp:80 weight 1, \[198\.18\.0\.12\]:tcp:80 weight 1\n/,
    );
  });
});

/** lvs-lb1.conf / lvs-lb2.conf with `warmup 0` removed (keepalived's default: delay_loop). */
const randomWarmup = (n: 1 | 2): string =>
  readFileSync(join(root, `simulations/configs/lvs-lb${n}.conf`), "utf8")
    .replace(/^\s*warmup 0\n/gm, "")
    .replace(/^/gm, "      ");

const WARMUP = `# warmup
# (test)
duration: 30s
lans: { lan: }
nodes:
  lb1:
    config: |
${randomWarmup(1)}
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.1 } }
  lb2:
    config: |
${randomWarmup(2)}
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.2 } }
timeline:
  - { at: 3s, realServer: { address: 198.18.0.11, port: 80, state: down } }
expect:
  - ipvs: { at: 29s, node: lb1, service: "${VS}", realServer: "${SORRY}" }
`;

describe("seeds", () => {
  it("the same seed gives byte-identical --json; the warmup draws (and so the probe times) follow the seed", async () => {
    const a = await simulate([STORY, "--json", "--seed", "3"]);
    const b = await simulate([STORY, "--json", "--seed", "3"]);
    expect(a.code).toBe(0);
    expect(b.out).toBe(a.out);
    const loaded = loadScenarioText(join(scenarios, "warmup.yaml"), WARMUP);
    const runs = [1, 1, 2].map((seed) => {
      const dir = tempDirForTest("vigil-sim-lvs-seed-");
      const r = runScenario(loaded, { seed, journalDir: dir });
      expect(failed(r)).toEqual([]);
      const lines = journal(dir, "lb1.");
      const draws = lines.flatMap((l) => l.ev?.input.event?.warmupDraws ?? []);
      return { json: JSON.stringify(r), draws, probes: probeTimes(lines, 0) };
    });
    const [one, again, two] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
    expect(again).toEqual(one);
    expect(one.draws).toHaveLength(2);
    expect(two.draws).not.toEqual(one.draws);
    expect(two.probes[0]).not.toBe(one.probes[0]);
    // keepalived: the first check BOOTSTRAP_DELAY + warmup × draw / RAND_MAX after the start
    expect(one.probes[0]).toBeGreaterThanOrEqual(1_000_000);
    expect(one.probes[0]).toBeLessThanOrEqual(1_000_000 + 100_000 + 6_000_000);
    expect(two.json).not.toBe(one.json);
  });
});

const lvsConf = (n: 1 | 2, extra = ""): string =>
  `${readFileSync(join(root, `simulations/configs/lvs-lb${n}.conf`), "utf8")}${extra}`.replace(
    /^/gm,
    "      ",
  );

const story = (timeline: string, expect: string, extra = ""): string => `# test
# (test)
duration: 100s
startSpread: 0s
checkpointEvery: 1s
${extra}lans: { lan: }
nodes:
  lb1:
    config: ../configs/lvs-lb1.conf
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.1 } }
  lb2:
    config: ../configs/lvs-lb2.conf
    interfaces: { eth0: { lan: lan, ipv4: 198.18.0.2 } }
timeline:
${timeline}
expect:
${expect}
`;

const ipvs = (at: string, node: string, rs: string | null, present = true): string =>
  `  - ipvs: { at: ${at}, node: ${node}, service: "${VS}"${rs === null ? "" : `, realServer: "${rs}"`}, present: ${present} }`;

describe("daemon restarts and the IPVS table", () => {
  const run = (text: string, dir?: string) =>
    runScenario(
      loadScenarioText(join(scenarios, "t.yaml"), text),
      dir === undefined ? {} : { journalDir: dir },
    );

  it("a load balancer resumed from a checkpoint keeps its checkers' state; a fresh one starts over", async () => {
    const timeline = (
      restart: string,
    ) => `  - { at: 10s, realServer: { address: 198.18.0.11, port: 80, state: down } }
  - { at: 22s, crash: { node: lb2, addresses: keep } }
  - { at: 25s, restart: ${restart} }
  - { at: 30s, realServer: { address: 198.18.0.11, port: 80, state: up } }`;
    const checks = [ipvs("25.5s", "lb2", RS1, false), ipvs("25.5s", "lb2", SORRY)].join("\n");
    const dir = tempDirForTest("vigil-sim-lvs-resume-");
    const resumed = run(story(timeline("{ node: lb2, resume: checkpoint }"), checks), dir);
    expect(failed(resumed)).toEqual([]);
    // no second start of the checkers: the resumed daemon's journal has no START
    const run2 = journal(dir, "lb2.run2");
    expect(run2.some((l) => l.ev?.input.event?.type === "START")).toBe(false);
    expect(run2.some((l) => l.ev?.input.kind === "check")).toBe(true);
    expect(await verifyAll(dir)).toContain("lb2.jsonl");
    // it goes on from its last checkpoint (21 s; the crash at 22 s comes first): the check due at
    // 21.005 s fires at once at 25 s and fails (retry 1), 26.001 s (retry 2), 27.002 s: still down,
    // then delay_loop: 33.003 s answers. lb1 ran on: 21.005 s (retry 1), 22.006 s (retry 2),
    // 23.007 s, 29.008 s (retry 1), 30.009 s answers.
    const back = (r: SimResult, node: string) =>
      r.timeline.find(
        (e) => e.node === node && e.kind === "ipvs" && e.text === `${VS} + ${RS1} weight 1` && e.atUs > 0,
      )?.atUs;
    expect(back(resumed, "lb2")).toBe(33_004_000);
    expect(back(resumed, "lb1")).toBe(30_010_000);
    // a fresh daemon starts its checkers over: .11 is in again until its first check fails
    const fresh = run(story(timeline("lb2"), checks));
    expect(failed(fresh).map((v) => v.name)).toEqual([`lb2 IPVS ${VS} has no ${RS1} at 25.5s`]);
  });

  it("a resumed daemon runs again the probes that were in flight at its checkpoint", async () => {
    // .12 hangs from 50 s; lb2's checkpoint at 56 s has its HTTP probe of 55.009 s in flight; the
    // resumed daemon (57 s) probes again: timed out at 60 s, retried at 62 s, down at 65 s.
    const dir = tempDirForTest("vigil-sim-lvs-inflight-");
    const r = run(
      story(
        `  - { at: 50s, realServer: { address: 198.18.0.12, port: 80, state: hang } }
  - { at: 56.5s, crash: { node: lb2, addresses: keep } }
  - { at: 57s, restart: { node: lb2, resume: checkpoint } }
  - { at: 70s, realServer: { address: 198.18.0.12, port: 80, state: up } }`,
        [
          ipvs("64.9s", "lb2", RS2),
          ipvs("65.1s", "lb2", RS2, false),
          ipvs("65.1s", "lb2", SORRY),
          ipvs("77.1s", "lb2", RS2),
        ].join("\n"),
      ),
      dir,
    );
    expect(failed(r)).toEqual([]);
    expect(probeTimes(journal(dir, "lb2.run2"), 1).filter((t) => t < 66e6)).toEqual([62_000_000]);
    await verifyAll(dir);
  });

  it("the table goes with the host, stays after a kill -9, is emptied by a shutdown", () => {
    const r = run(
      story(
        `  - { at: 10s, crash: lb1 }
  - { at: 10s, crash: { node: lb2, addresses: keep } }
  - { at: 20s, restart: lb1 }
  - { at: 20s, restart: lb2 }
  - { at: 30s, shutdown: lb2 }`,
        [
          ipvs("10.5s", "lb1", null, false),
          ipvs("10.5s", "lb2", RS1),
          ipvs("20.5s", "lb1", RS1),
          ipvs("30.5s", "lb2", null, false),
        ].join("\n"),
      ),
    );
    expect(failed(r)).toEqual([]);
    expect(ipvsLines(r, "lb1")).toContain(`10000000 - service ${VS} (host down)`);
  });

  it("a reload starts a new virtual server's checkers; initial real server states apply", () => {
    const added = `
virtual_server 198.18.0.100 443 {
    delay_loop 6
    protocol TCP
    real_server 198.18.0.13 443 {
        TCP_CHECK {
            warmup 0
        }
    }
}
`;
    const text = story(
      `  - at: 10s
    reload:
      node: lb1
      config: |
${lvsConf(1, added).replace(/^/gm, "  ")}`,
      [
        `  - ipvs: { at: 10.5s, node: lb1, service: "[198.18.0.100]:tcp:443", realServer: "[198.18.0.13]:tcp:443" }`,
        `  - ipvs: { at: 11.5s, node: lb1, service: "[198.18.0.100]:tcp:443", realServer: "[198.18.0.13]:tcp:443", present: false }`,
        `  - ipvs: { at: 11.5s, node: lb1, service: "${VS}", realServer: "${RS1}", weight: 1 }`,
      ].join("\n"),
      `realServers: { "198.18.0.13:443": down }\n`,
    );
    const r = run(text);
    expect(failed(r)).toEqual([]);
    // the unchanged virtual server kept its checkers: no second add of .11
    expect(ipvsLines(r, "lb1").filter((l) => l.includes(`+ ${RS1}`))).toEqual([`0 ${VS} + ${RS1} weight 1`]);
  });
});
