/**
 * The page generator (src/viz/report/page.ts) and where the pages come out: a report is one
 * self-contained file (echarts inlined, no src/href attribute, no URL outside the library's own
 * namespace and licence strings), the view inside reads back equal and cannot break out of its
 * script element whatever the names in it; the browser script parses; the dashboard loads echarts
 * from the daemon by a relative path; the status server serves both at `GET /` and
 * `GET /assets/echarts.min.js`; `vigil replay --report` writes the page of a journal.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runScenario, type SimResult } from "../../simulations/runner.ts";
import { loadScenario } from "../../simulations/scenario.load.ts";
import { replayCommand } from "../../src/cli/replay.ts";
import type { StatusServer } from "../../src/daemon/status-server.ts";
import { chartOf } from "../../src/viz/catalogue.ts";
import { CLIENT_SCRIPT } from "../../src/viz/report/client.ts";
import { simulationView } from "../../src/viz/report/from-simulation.ts";
import type { RunView } from "../../src/viz/report/model.ts";
import {
  DASHBOARD_CSP,
  dashboardPage,
  ECHARTS_ASSET_PATH,
  REPORT_CSP,
  reportPage,
} from "../../src/viz/report/page.ts";
import { echartsSource } from "../../src/viz/report/reports.ts";
import { http, rig, S, serveRig } from "../daemon/status-rig.ts";
import { tempDirForTest } from "../support/temp.ts";
import { handMadeResult } from "./sim-result.ts";

const chart = chartOf("vrrp-instance");
const echarts = echartsSource();

const HOSTILE = `</script><script>alert(1)</script><!-- \u2028 ${"'\"&"}`;
const hostileResult = (): SimResult =>
  handMadeResult(
    [
      { atUs: 0, node: HOSTILE, kind: "op", text: "start" },
      { atUs: 1, node: HOSTILE, kind: "state", text: `${HOSTILE.replace(/\s/g, "_")} INIT -> BACKUP` },
      { atUs: 2, node: "", kind: "fault", text: `partition ${HOSTILE}` },
    ],
    {
      scenario: HOSTILE,
      seed: 1,
      durationUs: 10,
      invariants: [{ name: "single-master", ok: false, detail: HOSTILE, atUs: 3 }],
      outputHashes: { [HOSTILE]: [] },
      ok: false,
    },
  );

const SCRIPT = /<script\b[^>]*>([\s\S]*?)<\/script>/gi;
const scriptBodies = (html: string): string[] => [...html.matchAll(SCRIPT)].map((m) => m[1] as string);
const outsideScripts = (html: string): string => html.replace(SCRIPT, "<script></script>");

/** The JSON assigned to window.VIGIL_VIEW, parsed back. */
const embeddedView = (html: string): RunView => {
  const m = /<script>window\.VIGIL_VIEW = (.*);<\/script>/.exec(html);
  if (m === null) throw new Error("no view in the page");
  return JSON.parse(m[1] as string) as RunView;
};

describe("reportPage", () => {
  const view = simulationView(hostileResult(), chart);
  const html = reportPage(view, echarts);

  it("is self-contained: the library inlined, nothing to fetch, no URL outside the library", () => {
    expect(html).toContain(echarts.slice(0, 200));
    const markup = outsideScripts(html);
    expect(markup).not.toMatch(/\s(src|href|srcset|action|poster|data)\s*=/i);
    expect(markup).not.toMatch(/<(link|iframe|img|object|embed|base|frame)\b/i);
    expect(html.replace(echarts, "")).not.toMatch(/@import|url\(/i);
    // and the browser is told to load nothing from anywhere
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`);
    expect(REPORT_CSP).toMatch(/^default-src 'none';/);
    expect(REPORT_CSP).not.toMatch(/https?:|\*|'self'/);
    const withoutLibrary = html.replace(echarts, "");
    expect(withoutLibrary).not.toMatch(/[a-z][a-z0-9+.-]*:\/\//i);
    // the library's own: XML namespace names and licence references, never fetched
    const urls = new Set(echarts.match(/https?:\/\/[^\s"'`)]+/g) ?? []);
    for (const u of urls) expect(u).toMatch(/^http:\/\/www\.w3\.org\/|\/licenses?\/|\/LICENSE/i);
  });

  it("carries the view unchanged, and hostile names cannot leave their script element", () => {
    expect(embeddedView(html)).toEqual(JSON.parse(JSON.stringify(view)));
    const scripts = (s: string) => (s.match(/<script\b/gi) ?? []).length;
    const closes = (s: string) => (s.match(/<\/script/gi) ?? []).length;
    expect(scripts(html)).toBe(3);
    expect(closes(html)).toBe(3);
    for (const body of scriptBodies(html)) {
      expect(body).not.toContain("<!--");
      expect(body).not.toContain("\u2028");
    }
    // the title is escaped text
    expect(html).toContain("<title>vigil simulate: &lt;/script&gt;&lt;script&gt;alert(1)");
  });

  it("has a browser script that parses", () => {
    expect(() => new Function(CLIENT_SCRIPT)).not.toThrow();
  });
});

describe("dashboardPage", () => {
  it("loads echarts from the daemon by a relative path and nothing from elsewhere", () => {
    const html = dashboardPage({ states: ["INIT"], edges: [] });
    expect([...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1])).toEqual([ECHARTS_ASSET_PATH]);
    expect(html).not.toMatch(/[a-z][a-z0-9+.-]*:\/\//i);
    expect(html).not.toMatch(/\shref\s*=/i);
    expect(html).toContain("window.VIGIL_LIVE = (function liveModel(");
    expect(html).not.toContain("window.VIGIL_VIEW =");
  });
});

describe("status server GET / and its asset", () => {
  const servers: StatusServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it("serves the dashboard and echarts, read-only", async () => {
    const r = rig();
    r.clock.advanceBy(5 * S);
    const s = await serveRig(r);
    if (s === undefined) throw new Error("no server");
    servers.push(s);
    const seq = r.node.seq;
    const page = await http(s.port, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toBe(`${DASHBOARD_CSP}; frame-ancestors 'none'`);
    expect(DASHBOARD_CSP).not.toMatch(/https?:|\*/);
    expect(page.body).toContain(`<script src="${ECHARTS_ASSET_PATH}"></script>`);
    expect(page.body).toContain("window.VIGIL_CHART = ");
    const lib = await http(s.port, `/${ECHARTS_ASSET_PATH}`);
    expect(lib.status).toBe(200);
    expect(lib.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(lib.body).toBe(echarts);
    expect((await http(s.port, "/", "POST")).status).toBe(405);
    expect((await http(s.port, "/assets/other.js")).status).toBe(404);
    expect(r.node.seq).toBe(seq);
  });
});

describe("vigil replay --report", () => {
  const replay = async (args: string[]) => {
    let stderr = "";
    const code = await replayCommand.run(args, { stdout: () => {}, stderr: (t) => (stderr += t) });
    return { code, stderr };
  };

  it("writes the page of a journal: its lanes, states and transitions; exit 2 when it cannot", async () => {
    const dir = tempDirForTest("vigil-replay-report-");
    runScenario(loadScenario(join(import.meta.dirname, "../../simulations/quickstart.yaml")), {
      journalDir: dir,
    });
    const out = join(dir, "page.html");
    const ok = await replay([join(dir, "lb2.jsonl"), "--report", out]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const v = embeddedView(readFileSync(out, "utf8"));
    expect(v.mode).toBe("replay");
    expect(v.title).toContain("lb2.jsonl");
    expect(v.lanes.map((l) => [l.id, l.state])).toEqual([["VI_1", "BACKUP"]]);
    const counts = Object.fromEntries(
      v.lanes[0]?.transitions.map((t) => [`${t.from}>${t.to}`, t.count]) ?? [],
    );
    expect(counts).toEqual({ "INIT>BACKUP": 1, "BACKUP>MASTER": 3, "MASTER>BACKUP": 3 });
    const bad = await replay([join(dir, "lb2.jsonl"), "--report", join(dir, "no/such/dir/page.html")]);
    expect(bad.stderr).toMatch(/cannot write/);
    expect(bad.code).toBe(2);
  });
});
