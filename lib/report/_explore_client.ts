// The explorer's script and styles, inlined into index.html (no network, no library): draws the
// fidelity-vs-L0 plot from the embedded data (explore.ts) for the chosen metric and axis scales,
// shows a run's details on hover, hides and shows series from the legend, and shows the winner
// table of the chosen metric. Private to reports.

export const EXPLORE_CSS = `
#explore .controls { display: flex; gap: 1.2em; flex-wrap: wrap; align-items: center;
  margin: .6em 0; }
#explore .stage { display: flex; gap: 1em; align-items: flex-start; flex-wrap: wrap; }
#ex-plot { flex: 1 1 640px; max-width: 820px; height: auto; border: 1px solid #eee; }
#ex-plot text { font: 11px system-ui, sans-serif; fill: #444; }
#ex-plot .grid { stroke: #eee; } #ex-plot .axis { stroke: #888; }
#ex-plot circle { cursor: pointer; } #ex-plot circle:hover { stroke-width: 3; }
#ex-legend { list-style: none; padding: 0; margin: 0; flex: 0 1 16em; font-size: 13px; }
#ex-legend button { display: flex; align-items: center; width: 100%; text-align: left;
  background: none; border: 1px solid transparent; border-radius: 4px; padding: 2px 6px;
  cursor: pointer; font: inherit; }
#ex-legend button:hover { border-color: #ccc; }
#ex-legend button[aria-pressed="false"] { color: #aaa; text-decoration: line-through; }
#ex-legend button[aria-pressed="false"] .sw { opacity: .25; }
#ex-tip { position: absolute; background: #fff; border: 1px solid #bbb; border-radius: 6px;
  padding: .4em .7em; font-size: 13px; box-shadow: 0 2px 8px rgba(0,0,0,.15); z-index: 2;
  max-width: 26em; }
#ex-tip .id { font-weight: 600; font-family: ui-monospace, monospace; }
`;

export const EXPLORE_SCRIPT = String.raw`
"use strict";
(function () {
  var D = JSON.parse(document.getElementById("explore-data").textContent);
  var root = document.getElementById("explore");
  var svg = document.getElementById("ex-plot");
  var tip = document.getElementById("ex-tip");
  var note = document.getElementById("ex-note");
  var metricSel = document.getElementById("ex-metric");
  var xSel = document.getElementById("ex-x");
  var ySel = document.getElementById("ex-y");
  var NS = "http://www.w3.org/2000/svg";
  var W = 800, H = 460, L = 70, R = 20, T = 34, B = 48;
  var hidden = {};
  var colors = {};
  D.series.forEach(function (s) { colors[s.name] = s.color; });
  var byId = {};
  D.runs.forEach(function (r) { byId[r.id] = r; });
  var info = {};
  D.metrics.forEach(function (m) { info[m.key] = m; });

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) { return String(Number(Number(v).toPrecision(3))); }
  function ticks(lo, hi, log) {
    var out = [];
    if (log) {
      for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        [1, 2, 5].forEach(function (m) {
          var v = m * Math.pow(10, e);
          if (v >= lo && v <= hi) out.push(v);
        });
      }
      if (out.length > 9) out = out.filter(function (v) { return /^1/.test(v.toExponential()); });
      if (out.length < 2) out = [lo, hi];
      return out;
    }
    var raw = (hi - lo) / 6, step = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    var f = raw / step;
    step *= f >= 5 ? 10 : f >= 2.5 ? 5 : f >= 1.2 ? 2 : 1;
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }
  function extent(values, log) {
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    if (log) return lo === hi ? [lo / 2, hi * 2] : [lo / 1.15, hi * 1.15];
    var pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
    return [lo >= 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad];
  }
  function scale(d, log, a, b) {
    var f = log ? Math.log : function (v) { return v; };
    var lo = f(d[0]), hi = f(d[1]);
    return function (v) { return a + (f(v) - lo) / (hi - lo || 1) * (b - a); };
  }
  function usable(v, log) { return typeof v === "number" && isFinite(v) && (!log || v > 0); }

  function draw() {
    var m = metricSel.value, xlog = xSel.value === "log", ylog = ySel.value === "log";
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    tip.hidden = true;
    var shown = D.runs.filter(function (r) {
      return !hidden[r.series] && usable(r.values[m], ylog) && usable(r.l0, xlog);
    });
    var skipped = D.runs.filter(function (r) {
      return !hidden[r.series] && typeof r.values[m] === "number" && !usable(r.values[m], ylog);
    }).length;
    var lines = (D.frontiers[m] || []).filter(function (f) { return !hidden[f.series]; });
    var xs = shown.map(function (r) { return r.l0; });
    var ys = shown.map(function (r) { return r.values[m]; });
    lines.forEach(function (f) {
      f.points.forEach(function (p) {
        if (usable(p[0], xlog) && usable(p[1], ylog)) { xs.push(p[0]); ys.push(p[1]); }
      });
    });
    note.textContent = (skipped ? skipped + " run(s) with values at or below 0 are not shown on " +
      "a log axis. " : "") + (shown.length ? "" : "No run to show for this metric and series.");
    if (shown.length === 0) return;
    var xd = extent(xs, xlog), yd = extent(ys, ylog);
    var sx = scale(xd, xlog, L, W - R), sy = scale(yd, ylog, H - B, T);
    ticks(xd[0], xd[1], xlog).forEach(function (v) {
      el("line", { x1: sx(v), x2: sx(v), y1: T, y2: H - B, "class": "grid" }, svg);
      el("text", { x: sx(v), y: H - B + 16, "text-anchor": "middle" }, svg).textContent = fmt(v);
    });
    ticks(yd[0], yd[1], ylog).forEach(function (v) {
      el("line", { x1: L, x2: W - R, y1: sy(v), y2: sy(v), "class": "grid" }, svg);
      el("text", { x: L - 6, y: sy(v), dy: "0.32em", "text-anchor": "end" }, svg).textContent =
        fmt(v);
    });
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }, svg);
    el("line", { x1: L, x2: L, y1: T, y2: H - B, "class": "axis" }, svg);
    el("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle" }, svg).textContent =
      "L0 (active latents per token, " + (xlog ? "log" : "linear") + ") →";
    el("text", { x: 14, y: 16, "text-anchor": "start" }, svg).textContent = "↑ " +
      info[m].label + " (" + (info[m].better === "lower" ? "lower" : "higher") + " is better)";
    lines.forEach(function (f) {
      var pts = f.points.filter(function (p) { return usable(p[0], xlog) && usable(p[1], ylog); });
      if (pts.length < 2) return;
      el("polyline", {
        points: pts.map(function (p) { return sx(p[0]) + "," + sy(p[1]); }).join(" "),
        fill: "none", stroke: colors[f.series], "stroke-width": 1.6, "data-series": f.series,
      }, svg);
    });
    shown.forEach(function (r) {
      var a = el("a", { href: r.href }, svg);
      el("circle", {
        cx: sx(r.l0), cy: sy(r.values[m]), r: 4.5, fill: colors[r.series], "fill-opacity": 0.3,
        stroke: colors[r.series], "stroke-width": 1.5, "data-run": r.id, "data-series": r.series,
      }, a);
    });
    document.querySelectorAll("#explore .ex-winners").forEach(function (t) {
      t.hidden = t.getAttribute("data-metric") !== m;
    });
  }

  function line(text, cls) {
    var d = document.createElement("div");
    if (cls) d.className = cls;
    d.textContent = text;
    return d;
  }
  svg.addEventListener("mouseover", function (e) {
    var c = e.target.closest ? e.target.closest("circle[data-run]") : null;
    if (!c) return;
    var r = byId[c.getAttribute("data-run")], m = metricSel.value;
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    tip.appendChild(line(r.id, "id"));
    tip.appendChild(line("series: " + r.series));
    tip.appendChild(line("target L0 " + fmt(r.target) + ", achieved L0 " + fmt(r.l0)));
    tip.appendChild(line(info[m].label + ": " + fmt(r.values[m])));
    var a = document.createElement("a");
    a.href = r.href;
    a.textContent = "open the run page";
    tip.appendChild(a);
    var box = c.getBoundingClientRect();
    tip.style.left = (window.scrollX + box.right + 10) + "px";
    tip.style.top = (window.scrollY + box.top - 10) + "px";
    tip.hidden = false;
  });
  svg.addEventListener("mouseleave", function (e) {
    if (!tip.contains(e.relatedTarget)) tip.hidden = true;
  });
  tip.addEventListener("mouseleave", function () { tip.hidden = true; });
  document.querySelectorAll("#ex-legend button").forEach(function (b) {
    b.addEventListener("click", function () {
      var s = b.getAttribute("data-series");
      hidden[s] = !hidden[s];
      b.setAttribute("aria-pressed", hidden[s] ? "false" : "true");
      draw();
    });
  });
  [metricSel, xSel, ySel].forEach(function (s) { s.addEventListener("change", draw); });
  root.hidden = false;
  draw();
})();
`;
