/**
 * The browser script of the run-view page (page.ts), part 2: the helpers, the tables (lanes,
 * verdicts, the event log with a text and a kind filter) and the start-up. With `window.VIGIL_VIEW`
 * it draws that view once; without it (the live dashboard) it builds the view with
 * `window.VIGIL_LIVE` (live.ts) from `status` (polled) and the `events` stream, relative to the
 * page's URL. `window.vigil` exposes the view and the chart instances (for tests and the console).
 * Browser code kept as text (ES2017, no template literals); data only (string constants).
 */
import { CLIENT_CHARTS } from "./client-charts.ts";

const PRELUDE = String.raw`  "use strict";
  var ec = window.echarts;
  var COLORS = {
    MASTER: "#2e7d32",
    BACKUP: "#1565c0",
    INIT: "#9e9e9e",
    FAULT: "#c62828",
    STOP: "#616161",
    DOWN: "#263238",
    UNKNOWN: "#bdbdbd",
  };
  var SLOTS = { INIT: [0, 1], BACKUP: [1, 0], MASTER: [2, 1], FAULT: [1, 2], STOP: [3, 2] };
  // keyed by names from the data: no prototype, so a lane called __proto__ is just a lane
  var charts = { timeline: null, states: Object.create(null) };
  var api = { charts: charts, view: null, renders: 0, fmtUs: fmtUs };
  window.vigil = api;

  function fmtUs(us) {
    var v = Math.round(us);
    var sign = v < 0 ? "-" : "";
    v = Math.abs(v);
    var s = Math.floor(v / 1000000);
    var f = String(v % 1000000);
    while (f.length < 6) f = "0" + f;
    f = f.replace(/0+$/, "");
    return sign + (f === "" ? s + "s" : s + "." + f + "s");
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function byId(id) {
    return document.getElementById(id);
  }
  function color(state) {
    return own(COLORS, state) ? COLORS[state] : "#8d6e63";
  }
  function own(o, k) {
    return Object.prototype.hasOwnProperty.call(o, k);
  }

`;

const TABLES_AND_START = String.raw`  // ---- tables
  function renderLanes(v) {
    var keys = [];
    v.lanes.forEach(function (l) {
      Object.keys(l.facts).forEach(function (k) {
        if (keys.indexOf(k) < 0) keys.push(k);
      });
    });
    var head = "<tr><th>instance</th><th>state</th>" + keys.map(function (k) {
      return "<th>" + esc(k) + "</th>";
    }).join("") + "</tr>";
    byId("lanes").innerHTML = head + v.lanes.map(function (l) {
      return (
        '<tr data-lane="' + esc(l.id) + '" data-state="' + esc(l.state) + '"><td>' + esc(l.id) +
        '</td><td class="state" style="background:' + color(l.state) + '">' + esc(l.state) + "</td>" +
        keys.map(function (k) {
          return "<td>" + esc(l.facts[k] === undefined ? "" : l.facts[k]) + "</td>";
        }).join("") + "</tr>"
      );
    }).join("");
  }

  function renderVerdicts(v) {
    byId("verdicts-section").hidden = v.verdicts.length === 0;
    byId("verdicts").innerHTML = v.verdicts.map(function (x) {
      return (
        '<tr data-ok="' + x.ok + '" class="' + (x.ok ? "pass" : "fail") + '"><td>' + (x.ok ? "PASS" : "FAIL") +
        "</td><td>" + esc(x.name) + "</td><td>" + esc(x.detail) +
        (x.atUs === undefined ? "" : " (at " + fmtUs(x.atUs) + ")") + "</td></tr>"
      );
    }).join("");
  }

  function renderEvents(v) {
    var list = v.mode === "live" ? v.events.slice().reverse() : v.events;
    var kinds = Object.create(null);
    list.forEach(function (e) {
      kinds[e.kind] = true;
    });
    var select = byId("kind");
    var chosen = select.value;
    select.innerHTML = '<option value="">all kinds</option>' + Object.keys(kinds).sort().map(function (k) {
      return '<option value="' + esc(k) + '"' + (k === chosen ? " selected" : "") + ">" + esc(k) + "</option>";
    }).join("");
    byId("events").innerHTML =
      "<tr><th>time</th><th>node</th><th>kind</th><th>what</th></tr>" +
      list.map(function (e) {
        return (
          '<tr data-kind="' + esc(e.kind) + '"><td>' + fmtUs(e.atUs) + "</td><td>" + esc(e.node === "" ? "*" : e.node) +
          "</td><td>" + esc(e.kind) + "</td><td>" + esc(e.text) + "</td></tr>"
        );
      }).join("");
    byId("omitted").textContent = v.eventsOmitted > 0 ? v.eventsOmitted + " earlier event(s) not shown" : "";
    filterEvents();
  }

  function filterEvents() {
    var text = byId("filter").value.toLowerCase();
    var kind = byId("kind").value;
    var rows = byId("events").querySelectorAll("tr[data-kind]");
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (kind === "" || r.getAttribute("data-kind") === kind) &&
        (text === "" || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.hidden = !ok;
      if (ok) shown++;
    }
    byId("shown").textContent = shown + " of " + rows.length + " event(s)";
  }

  function render(v) {
    api.view = v;
    document.title = v.title;
    byId("title").textContent = v.title;
    byId("summary").innerHTML = v.summary.map(function (s) {
      return "<span>" + esc(s) + "</span>";
    }).join(" \u00b7 ");
    renderTimeline(v);
    renderLanes(v);
    renderStateCharts(v);
    renderVerdicts(v);
    renderEvents(v);
    api.renders++;
  }

  byId("filter").addEventListener("input", filterEvents);
  byId("kind").addEventListener("change", filterEvents);
  window.addEventListener("resize", function () {
    if (charts.timeline !== null) charts.timeline.resize();
  });

  if (window.VIGIL_VIEW) {
    render(window.VIGIL_VIEW);
    return;
  }
  // live: /status for the instances (polled), /events for everything that happens
  var live = window.VIGIL_LIVE(window.VIGIL_CHART, 500);
  var due = false;
  function later() {
    if (due) return;
    due = true;
    setTimeout(function () {
      due = false;
      render(live.view());
    }, 200);
  }
  function connection(text) {
    byId("connection").textContent = text;
  }
  function poll() {
    fetch("status", { cache: "no-store" })
      .then(function (r) {
        return r.json();
      })
      .then(function (doc) {
        live.status(doc);
        later();
      })
      .catch(function () {
        connection("status unavailable");
      });
  }
  poll();
  setInterval(poll, 2000);
  var stream = new EventSource("events");
  stream.onopen = function () {
    connection("live");
  };
  stream.onerror = function () {
    connection("reconnecting\u2026");
  };
  stream.onmessage = function (m) {
    live.apply(JSON.parse(m.data));
    later();
  };
`;

/** The page's script (plain JavaScript, self-invoking). */
export const CLIENT_SCRIPT: string = `(function () {\n${PRELUDE}${CLIENT_CHARTS}${TABLES_AND_START}})();\n`;
