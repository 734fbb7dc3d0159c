/**
 * A simulation report in a real browser: `vigil simulate simulations/quickstart.yaml --json
 * --report FILE` (the command, in process), then FILE opened in headless chromium with every network
 * request refused. What the page shows is checked against the run's own JSON: the lanes, the state
 * at every time an expectation judged, the final states, the transition counts on the state charts,
 * the verdicts; hovering a state bar shows its exact start and end; the wheel zooms the time axis;
 * the event log filters by text and by kind. A screenshot goes to test-artifacts/.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatUs } from "../../simulations/report.ts";
import { runScenario, type SimResult } from "../../simulations/runner.ts";
import { loadScenario } from "../../simulations/scenario.load.ts";
import { replayCommand } from "../../src/cli/replay.ts";
import { simulateCommand } from "../../src/cli/simulate.ts";
import { repoRoot } from "../netns/support/vigil.ts";
import { tempDirForSuite } from "../support/temp.ts";
import { guardedPage, launchChromium, screenshot, skipUnlessBrowser } from "./support/browser.ts";

const suite = "browser: vigil simulate --report (quickstart)";

interface ChartData {
  lanes: string[];
  states: [number, number, number, string, string][];
  edges: Record<string, number>;
}

describe.skipIf(skipUnlessBrowser(suite))(suite, () => {
  let browser: Browser;
  let page: Page;
  let result: SimResult;
  let refused: string[];
  let requests: string[];
  let errors: string[];
  let file = "";
  const tempDir = tempDirForSuite("vigil-browser-report-");

  beforeAll(async () => {
    const dir = tempDir();
    file = join(dir, "quickstart.html");
    let stdout = "";
    let stderr = "";
    const code = await simulateCommand.run(
      [join(repoRoot, "simulations/quickstart.yaml"), "--json", "--report", file],
      { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
    );
    if (code !== 0) throw new Error(`vigil simulate exited ${code}: ${stderr}`);
    result = JSON.parse(stdout) as SimResult;
    browser = await launchChromium();
    ({ page, refused, requests, errors } = await guardedPage(browser, "file:"));
    await page.goto(`file://${file}`);
    await page.waitForFunction(
      () => (window as unknown as { vigil?: { renders: number } }).vigil?.renders === 1,
    );
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** The timeline chart's lanes and state bars and, per lane, the fired counts on its state chart. */
  const chartData = (): Promise<Record<string, ChartData>> =>
    page.evaluate(() => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's own globals
      const v = (window as any).vigil;
      const opt = v.charts.timeline.getOption();
      const out: Record<string, unknown> = {};
      for (const id of opt.yAxis[0].data as string[]) {
        const links = v.charts.states[id].getOption().series[0].links as {
          source: string;
          target: string;
          value: number;
        }[];
        out[id] = {
          lanes: opt.yAxis[0].data,
          states: opt.series[0].data.map((d: { value: unknown }) => d.value),
          edges: Object.fromEntries(links.map((l) => [`${l.source}>${l.target}`, l.value])),
        };
      }
      return out as Record<string, ChartData>;
    });

  it("loads with no network and no script error", () => {
    expect(errors).toEqual([]);
    expect(refused).toEqual([]);
    expect(requests.every((u) => u.startsWith("file:"))).toBe(true);
  });

  it("shows a lane per node and instance, in the states the run judged", async () => {
    const data = await chartData();
    const lanes = Object.keys(result.outputHashes).map((n) => `${n}/VI_1`);
    expect(Object.keys(data)).toEqual(lanes);
    const states = data[lanes[0] as string]?.states ?? [];
    const judged = result.expectations.flatMap((e) => {
      const m = /^(\S+) (\S+) is (\S+) at ([\d.]+)s$/.exec(e.name);
      return m === null ? [] : [{ e, lane: `${m[1]}/${m[2]}`, want: m[3], atUs: Number(m[4]) * 1_000_000 }];
    });
    expect(judged.length).toBeGreaterThanOrEqual(8);
    for (const { e, lane, want, atUs } of judged) {
      const i = lanes.indexOf(lane);
      const bar = states.find(([l, from, to]) => l === i && from <= atUs && atUs < to);
      expect(bar?.[3] === want, e.name).toBe(e.ok);
    }
  });

  it("shows each lane's final state, its fired transitions, and every verdict", async () => {
    const data = await chartData();
    for (const [lane, d] of Object.entries(data)) {
      const node = lane.split("/")[0];
      const changes = result.timeline.filter(
        (t) => t.node === node && t.kind === "state" && / -> /.test(t.text),
      );
      const last = changes.at(-1)?.text.split(" -> ")[1];
      expect(await page.getAttribute(`#lanes tr[data-lane="${lane}"]`, "data-state")).toBe(last);
      expect(await page.getAttribute(`figure[data-lane="${lane}"]`, "data-state")).toBe(last);
      const fired = Object.values(d.edges).reduce((a, b) => a + b, 0);
      expect(fired, lane).toBe(result.metrics.transitions[lane]);
    }
    const rows = await page.$$eval("#verdicts tr", (trs) =>
      trs.map((tr) => [tr.children[0]?.textContent, tr.children[1]?.textContent]),
    );
    const want = [
      ...result.invariants.map((v) => [v.ok ? "PASS" : "FAIL", `invariant ${v.name}`]),
      ...result.expectations.map((v) => [v.ok ? "PASS" : "FAIL", `expect ${v.name}`]),
    ];
    expect(rows).toEqual(want);
  });

  it("hovering a state bar shows its exact start and end; the wheel zooms the time axis", async () => {
    // lb2's first MASTER interval, from the run's own timeline
    const lb2 = result.timeline.filter((t) => t.node === "lb2" && / -> /.test(t.text));
    const k = lb2.findIndex((t) => t.text.endsWith("-> MASTER"));
    const fromUs = lb2[k]?.atUs ?? -1;
    const toUs = lb2[k + 1]?.atUs ?? -1;
    expect(toUs).toBeGreaterThan(fromUs);
    const at = await page.evaluate(
      ([x, lane]) => {
        // biome-ignore lint/suspicious/noExplicitAny: the page's own globals
        const c = (window as any).vigil.charts.timeline;
        const [px, py] = c.convertToPixel({ gridIndex: 0 }, [x, lane]) as [number, number];
        const box = c.getDom().getBoundingClientRect();
        return { x: box.left + px, y: box.top + py - 6 + window.scrollY };
      },
      [(fromUs + toUs) / 2, 1] as const,
    );
    await page.mouse.move(at.x, at.y);
    const tip = page.locator(".vigil-tooltip");
    await expect
      .poll(() => tip.textContent(), { timeout: 5000 })
      .toContain(`${formatUs(fromUs)} .. ${formatUs(toUs)}`);
    expect(await tip.textContent()).toContain("lb2/VI_1 MASTER");
    await page.mouse.wheel(0, -600);
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            // biome-ignore lint/suspicious/noExplicitAny: the page's own globals
            const z = (window as any).vigil.charts.timeline.getOption().dataZoom[0];
            return z.end - z.start;
          }),
        { timeout: 5000 },
      )
      .toBeLessThan(100);
    await screenshot(page, "report-quickstart.png");
  });

  it("filters the event log by text and by kind", async () => {
    const visible = () =>
      page.$$eval("#events tr[data-kind]:not([hidden])", (trs) => trs.map((t) => t.textContent ?? ""));
    expect(await visible()).toHaveLength(result.timeline.length);
    await page.fill("#filter", "CRASH");
    const crash = result.timeline.filter((t) =>
      `${t.node}${t.kind}${t.text}`.toLowerCase().includes("crash"),
    );
    expect(crash.length).toBeGreaterThan(0);
    expect(await visible()).toHaveLength(crash.length);
    expect(await page.textContent("#shown")).toBe(`${crash.length} of ${result.timeline.length} event(s)`);
    await page.fill("#filter", "");
    await page.selectOption("#kind", "vip");
    const vips = await visible();
    expect(vips).toHaveLength(result.timeline.filter((t) => t.kind === "vip").length);
    for (const row of vips) expect(row).toMatch(/vip[+-] 198\.18\.0\.100\/24$/);
  });
});

describe.skipIf(skipUnlessBrowser(suite))("browser: hostile names and a replayed journal", () => {
  let browser: Browser;
  let dir = "";
  const tempDir = tempDirForSuite("vigil-browser-replay-");
  beforeAll(async () => {
    dir = tempDir();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens a report file; fails on any script error or request off the file. */
  const open = async (file: string) => {
    const { page, refused, errors } = await guardedPage(browser, "file:");
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`file://${file}`);
    await page.waitForFunction(
      () => (window as unknown as { vigil?: { renders: number } }).vigil?.renders === 1,
    );
    return { page, refused, errors, dialogs };
  };

  it("names that look like markup or like Object's own keys stay names: no dialog, no extra element", async () => {
    const evil = `<img src=x onerror=alert(1)><script>alert(2)</script>`;
    const yaml = readFileSync(join(repoRoot, "simulations/quickstart.yaml"), "utf8")
      .replace("name: quickstart", `name: ${JSON.stringify(evil)}`)
      .replaceAll("VI_1", "__proto__");
    const scenario = join(dir, "evil.yaml");
    writeFileSync(scenario, yaml);
    const journals = join(dir, "evil-journals");
    const file = join(dir, "evil.html");
    const quiet = { stdout: () => {}, stderr: () => {} };
    expect(await simulateCommand.run([scenario, "--report", file, "--journal-dir", journals], quiet)).toBe(0);
    const sim = await open(file);
    expect(await sim.page.textContent("#title")).toBe(`vigil simulate: ${evil} (seed 1)`);
    expect(await sim.page.$$("img")).toHaveLength(0);
    expect(
      await sim.page.$$eval("figure.statechart", (f) => f.map((x) => x.getAttribute("data-lane"))),
    ).toEqual(["lb1/__proto__", "lb2/__proto__", "lb3/__proto__"]);
    expect([sim.dialogs, sim.errors, sim.refused]).toEqual([[], [], []]);
    // one node: the lane is called __proto__ itself
    const replayFile = join(dir, "evil-replay.html");
    expect(await replayCommand.run([join(journals, "lb2.jsonl"), "--report", replayFile], quiet)).toBe(0);
    const rp = await open(replayFile);
    expect(await rp.page.getAttribute('figure[data-lane="__proto__"]', "data-state")).toBe("BACKUP");
    expect(await rp.page.getAttribute('#lanes tr[data-lane="__proto__"]', "data-state")).toBe("BACKUP");
    expect([rp.dialogs, rp.errors, rp.refused]).toEqual([[], [], []]);
    await sim.page.close();
    await rp.page.close();
  });

  it("vigil replay --report draws one node: a lane per instance, its states and transitions", async () => {
    runScenario(loadScenario(join(repoRoot, "simulations/quickstart.yaml")), { journalDir: dir });
    const file = join(dir, "lb1.html");
    const code = await replayCommand.run([join(dir, "lb1.jsonl"), "--report", file], {
      stdout: () => {},
      stderr: () => {},
    });
    expect(code).toBe(0);
    const { page, refused, errors } = await guardedPage(browser, "file:");
    await page.goto(`file://${file}`);
    await page.waitForFunction(
      () => (window as unknown as { vigil?: { renders: number } }).vigil?.renders === 1,
    );
    const lanes = await page.evaluate(
      // biome-ignore lint/suspicious/noExplicitAny: the page's own globals
      () => (window as any).vigil.charts.timeline.getOption().yAxis[0].data as string[],
    );
    expect(lanes).toEqual(["VI_1"]);
    // lb1 crashed at 30s: its first journal ends there, MASTER (it had preempted back at ~24s)
    expect(await page.getAttribute('#lanes tr[data-lane="VI_1"]', "data-state")).toBe("MASTER");
    const rows = await page.$$eval("#events tr[data-kind='state']", (trs) =>
      trs.map((t) => t.textContent ?? ""),
    );
    expect(rows.map((r) => r.replace(/^[\d.]+s\*state/, ""))).toEqual([
      "VI_1 INIT -> BACKUP",
      "VI_1 BACKUP -> MASTER",
      "VI_1 MASTER -> BACKUP",
      "VI_1 BACKUP -> MASTER",
    ]);
    expect(errors).toEqual([]);
    expect(refused).toEqual([]);
    await screenshot(page, "replay-lb1.png");
    await page.close();
  });
});
