/**
 * The one page generator for run views: a self-contained HTML document (the view as JSON, the
 * browser script, the styles and — for files — echarts inlined; nothing is fetched from the
 * network) for a simulation or a replay, and the live dashboard the status server serves at `GET /`
 * (no view: the script builds it from `status` and `events`, echarts from `assets/echarts.min.js`
 * of the same server). Pure (text in, text out); `echartsSource` (assets.ts) reads the library.
 */
import { CLIENT_SCRIPT } from "./client.ts";
import { liveModel } from "./live.ts";
import type { RunView, StateChartModel } from "./model.ts";

/** Where the live page loads echarts from (relative: the status server serves it). */
export const ECHARTS_ASSET_PATH = "assets/echarts.min.js";

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** JSON that cannot end its <script> element or open a comment inside it. */
export const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

/** Script text with no `</script` (a library inlined as is). */
const scriptText = (js: string): string => js.replace(/<\/(script)/gi, "<\\/$1");

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.2em 1.5em;color:#263238}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}
#summary span{white-space:nowrap}#connection{color:#6a1b9a;margin-left:1em}
table{border-collapse:collapse}td,th{border:1px solid #cfd8dc;padding:2px 6px;text-align:left;vertical-align:top}
td.state{color:#fff;font-weight:bold}.pass td:first-child{color:#2e7d32}.fail td:first-child{color:#c62828;font-weight:bold}
tr.fail{background:#ffebee}#timeline{width:100%;min-height:200px}
#charts{display:flex;flex-wrap:wrap;gap:12px}figure.statechart{margin:0;border:1px solid #cfd8dc;padding:4px}
figure.statechart .graph{width:420px;height:230px}#events-box{max-height:480px;overflow:auto}
.filters{margin:.3em 0}.filters input{width:20em}`;

function htmlDocument(title: string, csp: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style>${STYLE}</style></head>
<body>
<header><h1 id="title">${esc(title)}</h1><p><span id="summary"></span><span id="connection"></span></p></header>
<section><h2>Timeline</h2><div id="timeline"></div></section>
<section><h2>Instances</h2><table id="lanes"></table></section>
<section><h2>State charts</h2><div id="charts"></div></section>
<section id="verdicts-section"><h2>Verdicts</h2><table id="verdicts"></table></section>
<section><h2>Events</h2><div class="filters"><input id="filter" type="search" placeholder="filter events (text)">
<select id="kind"><option value="">all kinds</option></select> <span id="shown"></span> <span id="omitted"></span></div>
<div id="events-box"><table id="events"></table></div></section>
${body}
</body></html>
`;
}

/**
 * What a page may load: nothing from anywhere for a report file (scripts and styles are inline);
 * the dashboard also its own server's script and `status`/`events` (the status server also sends it
 * as a header, with `frame-ancestors 'none'`, which only a header can carry).
 */
export const REPORT_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

/** esbuild's `keepNames` may wrap functions in `__name(...)`: harmless in the browser with this. */
const NAME_SHIM = "var __name = function (f) { return f; };";

/** A report file: the view and echarts (its source text) inlined. */
export function reportPage(view: RunView, echartsJs: string): string {
  return htmlDocument(
    view.title,
    REPORT_CSP,
    `<script>${scriptText(echartsJs)}</script>
<script>window.VIGIL_VIEW = ${scriptJson(view)};</script>
<script>${scriptText(CLIENT_SCRIPT)}</script>`,
  );
}

/** The live dashboard: echarts from the server, the view built in the browser (live.ts). */
export function dashboardPage(chart: StateChartModel): string {
  return htmlDocument(
    "vigil dashboard",
    DASHBOARD_CSP,
    `<script src="${ECHARTS_ASSET_PATH}"></script>
<script>${NAME_SHIM}
window.VIGIL_CHART = ${scriptJson(chart)};
window.VIGIL_LIVE = (${scriptText(liveModel.toString())});</script>
<script>${scriptText(CLIENT_SCRIPT)}</script>`,
  );
}
