// The script and styles of feature and rating pages, inlined into each page (no network). The
// script decodes the embedded payload (_feature_payload.ts) and builds only the cards in view.
// Private to reports.

export const FEATURE_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; color: #222; max-width: 1100px; margin: 1.5em auto;
  padding: 0 1em; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } .meta { color: #555; font-size: .9em; }
.controls { position: sticky; top: 0; background: #fff; padding: .5em 0;
  border-bottom: 1px solid #ddd;
  display: flex; gap: .8em; flex-wrap: wrap; align-items: center; z-index: 1; }
.controls input[type=search] { width: 16em; }
.fcard { border: 1px solid #ddd; border-radius: 8px; padding: .6em .9em; margin: .8em 0; }
.fcard h3 { margin: 0 0 .3em; font-size: 1.05em; } .fcard .stats { color: #555; font-size: .9em; }
.row { display: flex; gap: 1.5em; flex-wrap: wrap; }
.ctx { font: 13px/1.7 ui-monospace, monospace; white-space: pre; overflow-x: auto; margin: 1px 0; }
.ctx .v { display: inline-block; width: 4.5em; color: #777; text-align: right; margin-right: .6em; }
.tok { border-radius: 2px; } .tok.on { box-shadow: inset 0 -2px 0 #d55e00; }
.tok.peak { outline: 1px solid #d55e00; font-weight: 600; }
.band { color: #777; font-size: .85em; margin-top: .4em; }
.logits { font: 12px/1.5 ui-monospace, monospace; } .logits td { padding: 0 .5em 0 0; }
.pos { color: #0a7; } .neg { color: #c33; }
.rate button { margin-right: .4em; } .rate button.chosen { background: #333; color: #fff; }
#more { margin: 1em 0; }
`;

export const FEATURE_SCRIPT = String.raw`
"use strict";
(function () {
  var P = JSON.parse(document.getElementById("payload").textContent);
  var PAGE = JSON.parse(document.getElementById("page").textContent);
  function bytes(s) {
    var b = atob(s), u = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) u[i] = b.charCodeAt(i);
    return u;
  }
  var f32 = function (s) { return new Float32Array(bytes(s).buffer); };
  var i32 = function (s) { return new Int32Array(bytes(s).buffer); };
  var D = {
    freq: f32(P.freq), max: f32(P.max), mean: f32(P.mean), entropy: f32(P.entropy),
    hist: f32(P.hist), tok: i32(P.tok), act: bytes(P.act),
    pid: i32(P.pid), pv: f32(P.pv), sid: i32(P.sid), sv: f32(P.sv)
  };
  var N = D.freq.length, C = P.C, W = P.W, L = P.L;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(t) {
    if (t < 0) return "";
    var s = P.vocab[t];
    return s === undefined ? "?" : s.replace(/\n/g, "\u21b5").replace(/\t/g, "\u21e5");
  }
  function fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3))); }
  function pct(v) { return (100 * v).toPrecision(3) + "%"; }

  function histogram(k) {
    var ns = "http://www.w3.org/2000/svg", w = 160, h = 40, B = P.bins, top = 0;
    for (var b = 0; b < B; b++) top = Math.max(top, D.hist[k * B + b]);
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", h + 12);
    svg.setAttribute("class", "hist");
    for (b = 0; b < B && top > 0; b++) {
      var v = D.hist[k * B + b], r = document.createElementNS(ns, "rect");
      var bh = v > 0 ? Math.max(1, (h * v) / top) : 0;
      r.setAttribute("x", (b * w) / B); r.setAttribute("width", w / B - 1);
      r.setAttribute("y", h - bh); r.setAttribute("height", bh); r.setAttribute("fill", "#d55e00");
      var title = document.createElementNS(ns, "title");
      title.textContent = v + " tokens in [" + fmt((b * D.max[k]) / B) + ", " +
        fmt(((b + 1) * D.max[k]) / B) + ")";
      r.appendChild(title); svg.appendChild(r);
    }
    var label = document.createElementNS(ns, "text");
    label.setAttribute("x", 0); label.setAttribute("y", h + 11); label.setAttribute("font-size", 10);
    label.textContent = "0 \u2026 " + fmt(D.max[k]);
    svg.appendChild(label);
    return svg;
  }

  function logits(k) {
    var t = el("table", "logits"), head = el("tr");
    head.appendChild(el("th", "", "promoted")); head.appendChild(el("th", ""));
    head.appendChild(el("th", "", "suppressed")); head.appendChild(el("th", ""));
    t.appendChild(head);
    for (var j = 0; j < L; j++) {
      var tr = el("tr");
      tr.appendChild(el("td", "pos", JSON.stringify(show(D.pid[k * L + j]))));
      tr.appendChild(el("td", "", fmt(D.pv[k * L + j])));
      tr.appendChild(el("td", "neg", JSON.stringify(show(D.sid[k * L + j]))));
      tr.appendChild(el("td", "", fmt(D.sv[k * L + j])));
      t.appendChild(tr);
    }
    return t;
  }

  function context(k, slot) {
    var base = (k * C + slot) * W, line = el("div", "ctx"), any = false;
    var peak = D.act[base + P.before] / 255 * D.max[k];
    line.appendChild(el("span", "v", fmt(peak)));
    for (var w = 0; w < W; w++) {
      var t = D.tok[base + w];
      if (t < 0) continue;
      any = true;
      var a = D.act[base + w], span = el("span", "tok", show(t));
      if (a > 0) {
        span.className += " on";
        span.style.background = "rgba(230, 120, 30, " + (0.1 + 0.75 * a / 255).toFixed(3) + ")";
        span.title = "activation " + fmt(a / 255 * D.max[k]);
      }
      if (w === P.before) span.className += " peak";
      line.appendChild(span);
    }
    return any ? line : null;
  }

  function card(k) {
    var c = el("div", "fcard");
    c.appendChild(el("h3", "", P.ids ? "Latent " + P.ids[k] : "Item " + P.items[k]));
    if (P.ids) c.dataset.latent = P.ids[k];
    c.appendChild(el("div", "stats", "fires on " + pct(D.freq[k]) + " of " + P.rows +
      " held-out tokens \u00b7 max " + fmt(D.max[k]) + " \u00b7 mean " + fmt(D.mean[k]) +
      " \u00b7 top-token entropy " + fmt(D.entropy[k]) + " bits"));
    var row = el("div", "row"), side = el("div");
    side.appendChild(histogram(k)); side.appendChild(logits(k));
    var ctxs = el("div");
    ctxs.appendChild(el("div", "band", "top activations"));
    for (var s = 0; s < P.topK; s++) { var l = context(k, s); if (l) ctxs.appendChild(l); }
    for (var b = 0; b < P.bands; b++) {
      var head = el("div", "band", "random sample, band " + (b + 1) + " of " + P.bands +
        " below the top (by rank)"), shown = 0;
      for (var j = 0; j < P.perBand; j++) {
        var line = context(k, P.topK + b * P.perBand + j);
        if (line) { if (!shown++) ctxs.appendChild(head); ctxs.appendChild(line); }
      }
    }
    if (D.freq[k] === 0) ctxs.appendChild(el("p", "meta", "Never fires on the held-out tokens."));
    row.appendChild(ctxs); row.appendChild(side); c.appendChild(row);
    return c;
  }

  var list = document.getElementById("list"), more = document.getElementById("more");
  var order = [], shown = 0, STEP = 30;
  function renderMore() {
    var end = Math.min(order.length, shown + STEP), frag = document.createDocumentFragment();
    for (; shown < end; shown++) {
      frag.appendChild(PAGE.mode === "rate" ? rateCard(order[shown]) : card(order[shown]));
    }
    list.appendChild(frag);
    more.hidden = shown >= order.length;
  }
  function reset(indices) {
    order = indices; shown = 0; list.textContent = ""; renderMore();
    var count = document.getElementById("count");
    if (count) count.textContent = indices.length + " of " + N + " latents";
  }
  more.addEventListener("click", renderMore);
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; }) && shown < order.length) renderMore();
    }, { rootMargin: "800px" }).observe(more);
  }

  // Feature page: search by token at the top activations, sort, hide dead latents.
  var centre = null;
  function tokensOf(k) {
    if (!centre) {
      centre = [];
      for (var i = 0; i < N; i++) {
        var set = [];
        for (var s = 0; s < P.topK; s++) {
          var t = D.tok[(i * C + s) * W + P.before];
          if (t >= 0 && set.indexOf(t) < 0) set.push(t);
        }
        centre.push(set);
      }
    }
    return centre[k];
  }
  function apply() {
    var q = document.getElementById("q").value.trim().toLowerCase();
    var sort = document.getElementById("sort").value;
    var alive = document.getElementById("alive").checked;
    var match = null;
    if (q) {
      match = {};
      P.vocab.forEach(function (s, t) { if (s.trim().toLowerCase().indexOf(q) >= 0) match[t] = true; });
    }
    var idx = [];
    for (var k = 0; k < N; k++) {
      if (alive && D.freq[k] === 0) continue;
      if (match && !tokensOf(k).some(function (t) { return match[t]; })) continue;
      idx.push(k);
    }
    var key = {
      "freq-desc": function (k) { return -D.freq[k]; }, "freq-asc": function (k) { return D.freq[k]; },
      "max-desc": function (k) { return -D.max[k]; },
      "entropy-asc": function (k) { return D.entropy[k]; },
      "index": function (k) { return k; }
    }[sort];
    idx.sort(function (a, b) { return key(a) - key(b) || a - b; });
    reset(idx);
    var hash = q ? "#q=" + encodeURIComponent(q) : "";
    if (location.hash !== hash) history.replaceState(null, "", hash || location.pathname);
  }

  // Rating page: yes / maybe / no per item, kept in localStorage and saved as a JSON file.
  var storeKey = "saesweep-ratings:" + PAGE.session, ratings = {};
  try { ratings = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { ratings = {}; }
  function progress() {
    var n = Object.keys(ratings).length;
    document.getElementById("count").textContent = n + " of " + N + " rated";
  }
  function rateCard(k) {
    var c = card(k), bar = el("div", "rate"), item = P.items[k];
    ["yes", "maybe", "no"].forEach(function (v) {
      var b = el("button", ratings[item] === v ? "chosen" : "", v);
      b.type = "button"; b.dataset.value = v;
      b.addEventListener("click", function () {
        ratings[item] = v;
        try { localStorage.setItem(storeKey, JSON.stringify(ratings)); } catch (e) { /* private mode */ }
        bar.querySelectorAll("button").forEach(function (x) { x.className = x === b ? "chosen" : ""; });
        progress();
        if (handle) save();
      });
      bar.appendChild(b);
    });
    c.insertBefore(bar, c.children[1]);
    return c;
  }
  var handle = null;
  function ratingFile() {
    return JSON.stringify({
      format: "saesweep-ratings", version: 1, session: PAGE.session, page: PAGE.name,
      rater: document.getElementById("rater").value, saved_at: new Date().toISOString(),
      ratings: ratings
    }, null, 2) + "\n";
  }
  function save() {
    if (handle) {
      return handle.createWritable().then(function (w) {
        return w.write(ratingFile()).then(function () { return w.close(); });
      });
    }
    if (window.showSaveFilePicker) {
      return window.showSaveFilePicker({ suggestedName: PAGE.fileName }).then(function (h) {
        handle = h; return save();
      }).catch(function () { /* cancelled */ });
    }
    var a = el("a"); a.download = PAGE.fileName;
    a.href = URL.createObjectURL(new Blob([ratingFile()], { type: "application/json" }));
    document.body.appendChild(a); a.click(); a.remove();
  }

  if (PAGE.mode === "rate") {
    document.getElementById("save").addEventListener("click", save);
    reset(P.items.map(function (_, k) { return k; }));
    progress();
  } else {
    ["q", "sort", "alive"].forEach(function (id) {
      document.getElementById(id).addEventListener(id === "q" ? "input" : "change", apply);
    });
    var m = /^#q=(.*)$/.exec(location.hash);
    if (m) document.getElementById("q").value = decodeURIComponent(m[1]);
    apply();
  }
})();
`;
