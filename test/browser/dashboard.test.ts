/**
 * The live dashboard in a real browser: `vigil run --status 127.0.0.1:PORT` (the compiled CLI) in
 * lab namespace h1, MASTER at priority 150, facing real keepalived 2.2.7 in h2 (BACKUP, 100);
 * headless chromium runs inside h1 (through `ip netns exec`) and opens `http://127.0.0.1:PORT/`,
 * every other request refused. The page shows VI_1 MASTER with h1 as master, highlighted on its
 * state chart; then keepalived is replaced by one at priority 200, which takes over: without a
 * reload the page shows VI_1 BACKUP, h2 as master, the MASTER -> BACKUP transition counted on the
 * chart and listed in the event log, and the VIP span closed. Screenshots of both go to
 * test-artifacts/.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instanceBlock } from "../netns/support/mixed-cluster.ts";
import { vigilRunArgs } from "../netns/support/vigil.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, type LabProcess } from "../support/lab.ts";
import { guardedPage, launchChromium, screenshot, skipUnlessBrowser } from "./support/browser.ts";

const suite = "browser: the live dashboard of vigil run (GET /), failover to keepalived";
const PORT = 9131;
const skip = skipUnlessBrowser(suite) || skipUnlessLab(suite, { netns: true, keepalived: true });

describe.skipIf(skip)(suite, () => {
  let lab: Lab;
  let vigil: LabProcess;
  let ka: LabProcess;
  let browser: Browser | undefined;
  let page: Page;
  let refused: string[];
  let errors: string[];
  let net = "";
  const origin = `http://127.0.0.1:${PORT}/`;

  const instance = (state: "MASTER" | "BACKUP", prio: number) =>
    `${instanceBlock({ state, vrid: 73, prio, advertInt: "1", vips: [`${net}.100/24`] })}\n`;

  /** What the page shows for VI_1: its row's state and master cell, its chart's state and counts. */
  const shown = () =>
    page.evaluate(() => {
      const row = document.querySelector('#lanes tr[data-lane="VI_1"]');
      const heads = [...document.querySelectorAll("#lanes tr th")].map((th) => th.textContent);
      const cells = row === null ? [] : [...row.children].map((td) => td.textContent);
      // biome-ignore lint/suspicious/noExplicitAny: the page's own globals
      const v = (window as any).vigil;
      const chart = v?.charts.states.VI_1;
      const links = (chart?.getOption().series[0].links ?? []) as {
        source: string;
        target: string;
        value: number;
      }[];
      const lane = v?.view?.lanes.find((l: { id: string }) => l.id === "VI_1");
      return {
        state: row?.getAttribute("data-state") ?? null,
        master: cells[heads.indexOf("master")] ?? null,
        chartState: document.querySelector('figure[data-lane="VI_1"]')?.getAttribute("data-state") ?? null,
        fired: Object.fromEntries(
          links.filter((l) => l.value > 0).map((l) => [`${l.source}>${l.target}`, l.value]),
        ),
        vips: (lane?.vips ?? []) as { fromUs: number; toUs: number; vip: string }[],
        endUs: (v?.view?.endUs ?? 0) as number,
        events: [...document.querySelectorAll("#events tr[data-kind]")].map((tr) => tr.textContent ?? ""),
        connection: document.getElementById("connection")?.textContent ?? "",
      };
    });

  beforeAll(async () => {
    lab = await Lab.create({ prefix: `vg${process.pid % 1000}db`, hosts: 2 });
    const [h1, h2] = [lab.host(1), lab.host(2)];
    net = `198.18.${lab.subnet}`;
    const dir = lab.tempDir();
    ka = lab.keepalived(h2, instance("BACKUP", 100)).proc;
    const conf = join(dir, "vigil.conf");
    writeFileSync(conf, instance("MASTER", 150));
    vigil = lab.spawn(
      h1.ns,
      process.execPath,
      [
        ...vigilRunArgs({ config: conf, journalDir: join(dir, "journal"), pidFile: join(dir, "vigil.pid") }),
        "--status",
        `127.0.0.1:${PORT}`,
      ],
      { label: "vigil run --status (dashboard)" },
    );
    await vigil.waitForOutput(/Status server listening on/, 20_000);
    await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await ka.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 20_000);
    browser = await launchChromium({ ns: h1.ns, dir });
    ({ page, refused, errors } = await guardedPage(browser, origin));
    await page.goto(origin);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (vigil !== undefined) dumpForInspection("dashboard vigil", vigil.output);
    await lab?.destroy();
  });

  it("shows VI_1 MASTER with this host as master, highlighted on its chart", async () => {
    await expect.poll(async () => (await shown()).state, { timeout: 15_000 }).toBe("MASTER");
    const s = await shown();
    expect(s.chartState).toBe("MASTER");
    expect(s.master).toBe(`${lab.host(1).ipv4} (priority 150)`);
    expect(s.connection).toBe("live");
    // the VIP span grows with the daemon's clock (the adverts' events): held up to now
    await expect
      .poll(async () => (await shown()).vips.map((v) => v.vip), { timeout: 10_000 })
      .toEqual([`${net}.100/24`]);
    const t = await shown();
    expect(t.vips[0]?.toUs).toBe(t.endUs);
    await screenshot(page, "dashboard-master.png");
  });

  it("keeps the reader's zoom while it redraws for new events", async () => {
    const zoomSpan = () =>
      page.evaluate(() => {
        // biome-ignore lint/suspicious/noExplicitAny: the page's own globals
        const v = (window as any).vigil;
        const z = v.charts.timeline.getOption().dataZoom[0];
        return { span: z.end - z.start, renders: v.renders as number };
      });
    const box = await page.locator("#timeline").boundingBox();
    if (box === null) throw new Error("no timeline");
    await page.mouse.move(box.x + box.width / 2, box.y + 60);
    await page.mouse.wheel(0, -600);
    await expect.poll(async () => (await zoomSpan()).span, { timeout: 5000 }).toBeLessThan(100);
    const zoomed = await zoomSpan();
    // adverts arrive every second: wait for two more redraws
    await expect
      .poll(async () => (await zoomSpan()).renders, { timeout: 10_000 })
      .toBeGreaterThan(zoomed.renders + 1);
    expect((await zoomSpan()).span).toBeCloseTo(zoomed.span, 6);
  });

  it("follows a failover to keepalived live: BACKUP, the new master, the transition counted", async () => {
    const before = await shown();
    await ka.stop();
    ka = lab.keepalived(lab.host(2), instance("BACKUP", 200), "keepalived priority 200").proc;
    await vigil.waitForOutput(/\(VI_1\) Entering BACKUP STATE/, 20_000);
    await expect.poll(async () => (await shown()).state, { timeout: 15_000 }).toBe("BACKUP");
    await expect
      .poll(async () => (await shown()).master, { timeout: 10_000 })
      .toBe(`${lab.host(2).ipv4} (priority 200)`);
    const s = await shown();
    expect(s.chartState).toBe("BACKUP");
    expect(s.fired["MASTER>BACKUP"]).toBe((before.fired["MASTER>BACKUP"] ?? 0) + 1);
    expect(s.events.some((e) => e.includes("VI_1 MASTER -> BACKUP"))).toBe(true);
    const vip = s.vips.find((v) => v.vip === `${net}.100/24`);
    expect(vip?.toUs).toBeLessThan(s.endUs); // released
    await screenshot(page, "dashboard-after-failover.png");
    expect(errors).toEqual([]);
    expect(refused).toEqual([]);
  });
});
