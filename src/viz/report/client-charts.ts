/**
 * The browser script of the run-view page (page.ts), part 1: the echarts drawings of a `RunView` —
 * the swimlane timeline (a lane per node and instance: state bars, VIP ownership bars, fault and
 * operation markers, split-brain and no-master areas; priority lines below; zoom with the slider or
 * the wheel, hover for exact times) and a state chart per lane (the instance machine's top-level
 * states, every fired transition counted, the current state highlighted). Browser code kept as text
 * (ES2017, no template literals) so no bundler is needed; it runs inside client.ts's function scope
 * (helpers `fmtUs`, `esc`, `byId`, `color`, `charts`, `ec`). Data only (a string constant).
 */

/** The drawing functions (`renderTimeline`, `tip`, `renderStateCharts`). */
export const CLIENT_CHARTS: string = String.raw`  // ---- timeline: a lane per instance (state bar, VIP bar), markers, split brain; priority below
  function renderTimeline(v) {
    var dom = byId("timeline");
    var n = v.lanes.length;
    var laneH = 46;
    var top1 = 40;
    var h1 = Math.max(1, n) * laneH;
    var top2 = top1 + h1 + 50;
    var h2 = 140;
    dom.style.height = top2 + h2 + 70 + "px";
    // keep the reader's zoom across redraws (the live page redraws as events arrive)
    var zoom = { start: 0, end: 100 };
    if (charts.timeline === null) charts.timeline = ec.init(dom);
    else {
      var before = charts.timeline.getOption().dataZoom;
      if (before && before[0]) zoom = { start: before[0].start, end: before[0].end };
      charts.timeline.resize();
    }
    var ids = v.lanes.map(function (l) {
      return l.id;
    });
    var laneOf = Object.create(null);
    v.lanes.forEach(function (l, i) {
      (laneOf[l.node] = laneOf[l.node] || []).push(i);
    });
    var states = [];
    var vips = [];
    v.lanes.forEach(function (l, i) {
      l.states.forEach(function (s) {
        states.push({ value: [i, s.fromUs, s.toUs, s.state, l.id], itemStyle: { color: color(s.state) } });
      });
      l.vips.forEach(function (s) {
        vips.push({ value: [i, s.fromUs, s.toUs, s.vip, l.id] });
      });
    });
    var globalMarks = [];
    var laneMarks = [];
    v.markers.forEach(function (m) {
      var label = m.kind + " at " + fmtUs(m.atUs) + ": " + m.text;
      var rows = m.node === "" ? null : laneOf[m.node];
      if (rows === null || rows === undefined) globalMarks.push({ xAxis: m.atUs, name: label, kind: m.kind });
      else
        rows.forEach(function (i) {
          laneMarks.push({ value: [m.atUs, i], name: label, kind: m.kind });
        });
    });
    var areas = [];
    v.splitBrain.forEach(function (s) {
      areas.push([
        {
          xAxis: s.fromUs,
          name: "split brain " + s.group + ": " + fmtUs(s.fromUs) + " .. " + fmtUs(s.toUs),
          itemStyle: { color: "rgba(229,57,53,0.25)" },
        },
        { xAxis: s.toUs },
      ]);
    });
    v.failovers.forEach(function (s) {
      areas.push([
        {
          xAxis: s.fromUs,
          name: "no master " + s.group + ": " + fmtUs(s.fromUs) + " .. " + fmtUs(s.toUs),
          itemStyle: { color: "rgba(255,167,38,0.22)" },
        },
        { xAxis: s.toUs },
      ]);
    });
    function bar(offset, height, withText) {
      return function (params, a) {
        var lane = a.value(0);
        var p0 = a.coord([a.value(1), lane]);
        var p1 = a.coord([a.value(2), lane]);
        var band = a.size([0, 1])[1];
        var cs = params.coordSys;
        var rect = ec.graphic.clipRectByRect(
          { x: p0[0], y: p0[1] - band / 2 + band * offset, width: Math.max(p1[0] - p0[0], 1), height: band * height },
          { x: cs.x, y: cs.y, width: cs.width, height: cs.height },
        );
        if (!rect) return null;
        var out = { type: "rect", shape: rect, style: a.style() };
        if (withText && rect.width > 48)
          out.textContent = { style: { text: String(a.value(3)), fill: "#fff", fontSize: 11 } };
        if (withText) out.textConfig = { position: "inside" };
        return out;
      };
    }
    var prio = v.lanes.map(function (l) {
      var d = l.priority.map(function (p) {
        return [Math.max(p.atUs, v.startUs), p.priority];
      });
      if (d.length > 0) d.push([v.endUs, d[d.length - 1][1]]);
      return { name: l.id, type: "line", step: "end", xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, data: d };
    });
    var axisLabel = {
      formatter: function (x) {
        return fmtUs(Math.round(x / 1000) * 1000);
      },
    };
    var option = {
      animation: false,
      tooltip: { trigger: "item", confine: true, className: "vigil-tooltip", formatter: tip },
      legend: { data: ids, top: top2 - 30 },
      grid: [
        { left: 150, right: 40, top: top1, height: h1 },
        { left: 150, right: 40, top: top2, height: h2 },
      ],
      xAxis: [
        { type: "value", min: v.startUs, max: v.endUs, axisLabel: axisLabel, gridIndex: 0 },
        { type: "value", min: v.startUs, max: v.endUs, axisLabel: axisLabel, gridIndex: 1 },
      ],
      yAxis: [
        { type: "category", data: ids, inverse: true, gridIndex: 0, splitLine: { show: true } },
        { type: "value", name: "priority", gridIndex: 1, min: 0, max: 255 },
      ],
      dataZoom: [
        {
          type: "slider",
          xAxisIndex: [0, 1],
          filterMode: "none",
          bottom: 10,
          start: zoom.start,
          end: zoom.end,
          labelFormatter: axisLabel.formatter,
        },
        { type: "inside", xAxisIndex: [0, 1], filterMode: "none", start: zoom.start, end: zoom.end },
      ],
      series: [
        {
          id: "states",
          name: "states",
          type: "custom",
          renderItem: bar(0.08, 0.55, true),
          encode: { x: [1, 2], y: 0 },
          data: states,
          markArea: { silent: false, data: areas },
          markLine: {
            symbol: "none",
            lineStyle: { color: "#6a1b9a", type: "dashed" },
            label: {
              position: "start",
              formatter: function (p) {
                return p.data.kind;
              },
            },
            data: globalMarks,
          },
        },
        {
          id: "vips",
          name: "VIPs",
          type: "custom",
          renderItem: bar(0.68, 0.22, false),
          itemStyle: { color: "#f9a825" },
          encode: { x: [1, 2], y: 0 },
          data: vips,
        },
        {
          id: "markers",
          name: "markers",
          type: "scatter",
          symbol: "triangle",
          symbolSize: 12,
          itemStyle: { color: "#6a1b9a" },
          data: laneMarks,
        },
      ].concat(prio),
    };
    charts.timeline.setOption(option, { notMerge: true });
  }

  function tip(p) {
    if (p.componentType === "markLine" || p.componentType === "markArea") return esc(p.name);
    if (p.seriesId === "states") {
      var d = p.value;
      return (
        "<b>" + esc(d[4]) + "</b> " + esc(d[3]) + "<br>" + fmtUs(d[1]) + " .. " + fmtUs(d[2]) +
        " (" + fmtUs(d[2] - d[1]) + ")"
      );
    }
    if (p.seriesId === "vips") {
      var w = p.value;
      return "<b>" + esc(w[4]) + "</b> owns " + esc(w[3]) + "<br>" + fmtUs(w[1]) + " .. " + fmtUs(w[2]);
    }
    if (p.seriesId === "markers") return esc(p.name);
    return "<b>" + esc(p.seriesName) + "</b> priority " + p.value[1] + " from " + fmtUs(p.value[0]);
  }

  // ---- state charts: one per lane, fired transitions counted, current state highlighted
  function renderStateCharts(v) {
    var box = byId("charts");
    var seen = Object.create(null);
    v.lanes.forEach(function (l) {
      seen[l.id] = true;
      var holder = box.querySelector('[data-lane="' + CSS.escape(l.id) + '"]');
      if (holder === null) {
        holder = document.createElement("figure");
        holder.className = "statechart";
        holder.setAttribute("data-lane", l.id);
        holder.innerHTML = '<figcaption></figcaption><div class="graph"></div>';
        box.appendChild(holder);
      }
      holder.setAttribute("data-state", l.state);
      holder.querySelector("figcaption").innerHTML =
        esc(l.id) + ': <span class="state" style="color:' + color(l.state) + '">' + esc(l.state) + "</span>";
      var graphDom = holder.querySelector(".graph");
      var chart = charts.states[l.id] || (charts.states[l.id] = ec.init(graphDom));
      var names = v.chart.states.slice();
      l.transitions.forEach(function (t) {
        if (names.indexOf(t.from) < 0) names.push(t.from);
        if (names.indexOf(t.to) < 0) names.push(t.to);
      });
      if (names.indexOf(l.state) < 0) names.push(l.state);
      var extra = 0;
      var nodes = names.map(function (s) {
        var slot = own(SLOTS, s) ? SLOTS[s] : [3, extra++ % 2];
        var current = s === l.state;
        return {
          name: s,
          x: slot[0] * 120,
          y: slot[1] * 70,
          symbolSize: current ? 58 : 44,
          itemStyle: {
            color: current ? color(s) : "#eceff1",
            borderColor: current ? "#ff6f00" : "#90a4ae",
            borderWidth: current ? 4 : 1,
          },
          label: { show: true, color: current ? "#fff" : "#37474f", fontWeight: current ? "bold" : "normal" },
        };
      });
      var counts = Object.create(null);
      l.transitions.forEach(function (t) {
        counts[t.from + ">" + t.to] = t.count;
      });
      var edges = v.chart.edges.map(function (e) {
        return { source: e.from, target: e.to };
      });
      l.transitions.forEach(function (t) {
        var known = edges.some(function (e) {
          return e.source === t.from && e.target === t.to;
        });
        if (!known) edges.push({ source: t.from, target: t.to });
      });
      edges = edges.map(function (e) {
        var c = counts[e.source + ">" + e.target] || 0;
        return {
          source: e.source,
          target: e.target,
          value: c,
          label: { show: c > 0, formatter: "\u00d7" + c },
          lineStyle: { width: c > 0 ? 2.5 : 1, type: c > 0 ? "solid" : "dashed", color: c > 0 ? "#37474f" : "#b0bec5", curveness: 0.2 },
        };
      });
      chart.setOption(
        {
          animation: false,
          tooltip: {
            formatter: function (p) {
              return p.dataType === "edge"
                ? esc(p.data.source + " -> " + p.data.target) + ": fired " + p.data.value + " time(s)"
                : esc(p.name);
            },
          },
          series: [
            {
              type: "graph",
              layout: "none",
              roam: false,
              edgeSymbol: ["none", "arrow"],
              edgeSymbolSize: 9,
              data: nodes,
              links: edges,
              edgeLabel: { fontSize: 11 },
            },
          ],
        },
        { notMerge: true },
      );
    });
    Object.keys(charts.states).forEach(function (id) {
      if (seen[id]) return;
      charts.states[id].dispose();
      delete charts.states[id];
      var gone = box.querySelector('[data-lane="' + CSS.escape(id) + '"]');
      if (gone !== null) gone.remove();
    });
  }

`;
