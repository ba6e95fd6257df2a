"""The gate explorer's one page: plain HTML, CSS and JS with an inline SVG plot (served by :mod:`.explorer`).

Query parameters pre-fill the form and run it on load: ``text`` (or
``series``: comma-separated numbers), ``layer``, ``unit``, ``gate``,
``direction``. When a trace has been drawn, ``<body data-state="done">`` and
``#status`` says how many steps; errors go to ``#error``.
"""

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>lstmkit gate explorer</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; background: #fff; }
 h1 { font-size: 1.3em; margin: 0 0 .3em 0; }
 textarea { width: 100%; height: 6em; font-family: monospace; font-size: 14px; }
 .controls { margin: .5em 0; display: flex; gap: 1em; flex-wrap: wrap; align-items: center; }
 #tokens { font-family: monospace; font-size: 16px; line-height: 1.9; white-space: pre-wrap; border: 1px solid #ccc;
           padding: .5em; min-height: 2em; }
 .tok { padding: 1px 0; border-radius: 2px; }
 #error { color: #b00; }
 #legend { font-size: 12px; color: #555; }
 svg text { font-size: 11px; }
 button { font-size: 14px; padding: .2em 1em; }
</style>
</head>
<body data-state="idle">
<h1>lstmkit gate explorer</h1>
<div id="model">loading model information&hellip;</div>
<div id="text-input">
  <textarea id="text" placeholder="Type some text and press Run">First Citizen:
Before we proceed any further, hear me speak. "All: Speak, speak."</textarea>
</div>
<div id="series-input" style="display:none">
  <textarea id="series" placeholder="numbers separated by commas, spaces or new lines"></textarea>
  <div>or upload a CSV (the last numeric column is used): <input type="file" id="upload" accept=".csv,.txt"></div>
</div>
<div class="controls">
  <label>layer <select id="layer"></select></label>
  <label>direction <select id="direction"><option value="0">forward</option></select></label>
  <label>unit <input id="unit" type="number" min="0" value="0" style="width:5em"></label>
  <label>colour by <select id="gate"></select></label>
  <button id="run">Run</button>
  <span id="status"></span>
</div>
<div id="error"></div>
<div id="legend"></div>
<div id="tokens"></div>
<svg id="plot" width="1000" height="260" role="img" aria-label="gate values over time"></svg>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const PARAMS = new URLSearchParams(window.location.search);
const UNIT_RANGE = {i: [0, 1], f: [0, 1], o: [0, 1], r: [0, 1], z: [0, 1]};
const COLOURS = {i: "#1f77b4", f: "#d62728", g: "#9467bd", o: "#2ca02c", c: "#ff7f0e", h: "#17becf",
                 r: "#8c564b", z: "#e377c2", n: "#7f7f7f"};
let INFO = null;
let LAST = null;

function colour(v, gate, scale) {
  // gates in (0, 1): white -> deep blue; the rest: red (negative) - white - blue (positive)
  if (gate in UNIT_RANGE) {
    const a = Math.max(0, Math.min(1, v));
    return `rgb(${Math.round(255 - 215 * a)},${Math.round(255 - 175 * a)},${Math.round(255 - 40 * a)})`;
  }
  const a = Math.max(-1, Math.min(1, v / scale));
  if (a >= 0) return `rgb(${Math.round(255 - 215 * a)},${Math.round(255 - 175 * a)},255)`;
  return `rgb(255,${Math.round(255 + 175 * a)},${Math.round(255 + 200 * a)})`;
}

function visible(label) {
  return label === "\n" ? "\u21b5\n" : label;
}

function renderTokens(res) {
  const gate = $("gate").value;
  const vals = res.gates[gate];
  const scale = Math.max(1e-6, ...vals.map(Math.abs));
  const box = $("tokens");
  box.textContent = "";
  // characters sit side by side; words and series values get a space between them
  const sep = (INFO && INFO.input === "series") || res.labels.some((l) => l.length > 1 && l !== "\n") ? " " : "";
  res.labels.forEach((lab, t) => {
    const s = document.createElement("span");
    s.className = "tok";
    s.dataset.v = vals[t].toFixed(4);
    s.dataset.t = t;
    s.title = `step ${t}: ${gate} = ${vals[t].toFixed(4)}`;
    s.style.background = colour(vals[t], gate, scale);
    s.textContent = (res.values ? String(+res.values[t].toPrecision(4)) : visible(lab)) + sep;
    box.appendChild(s);
  });
  const range = gate in UNIT_RANGE ? "0 (white) to 1 (blue)" : `-${scale.toFixed(3)} (red) to +${scale.toFixed(3)} (blue)`;
  $("legend").textContent = `colour: ${res.titles[gate] || gate} of layer ${res.layer} unit ${res.unit}, ${range}`;
}

function renderPlot(res) {
  const svg = $("plot");
  const W = svg.width.baseVal.value, H = svg.height.baseVal.value, L = 40, R = 110, T = 10, B = 25;
  const n = res.labels.length;
  const names = Object.keys(res.gates);
  let lo = Infinity, hi = -Infinity;
  names.forEach((k) => res.gates[k].forEach((v) => { lo = Math.min(lo, v); hi = Math.max(hi, v); }));
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const x = (t) => L + (n > 1 ? (t / (n - 1)) * (W - L - R) : 0);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const ns = "http://www.w3.org/2000/svg";
  svg.textContent = "";
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  el("rect", {x: 0, y: 0, width: W, height: H, fill: "#fff"});
  el("line", {x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#bbb"});
  el("text", {x: 2, y: T + 10}, hi.toFixed(2));
  el("text", {x: 2, y: H - B}, lo.toFixed(2));
  el("text", {x: L, y: H - 5}, "step 0");
  el("text", {x: W - R - 50, y: H - 5}, `step ${n - 1}`);
  names.forEach((k, j) => {
    const pts = res.gates[k].map((v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    el("polyline", {points: pts, fill: "none", stroke: COLOURS[k] || "#000", "stroke-width": k === $("gate").value ? 2.5 : 1.2,
                    class: "gate-line", "data-gate": k});
    el("text", {x: W - R + 8, y: T + 14 + 16 * j, fill: COLOURS[k] || "#000"}, `${k}: ${res.titles[k] || k}`);
  });
}

function render(res) {
  LAST = res;
  renderTokens(res);
  renderPlot(res);
  $("status").textContent = `rendered ${res.labels.length} steps`;
  document.body.dataset.state = "done";
}

function seriesValues() {
  return $("series").value.split(/[\s,;]+/).filter((s) => s.length).map(Number);
}

async function run() {
  $("error").textContent = "";
  document.body.dataset.state = "running";
  $("status").textContent = "running\u2026";
  const body = {layer: +$("layer").value, unit: +$("unit").value, direction: +$("direction").value};
  if (INFO.input === "series") body.series = seriesValues(); else body.text = $("text").value;
  try {
    const r = await fetch("/api/trace", {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify(body)});
    const res = await r.json();
    if (!r.ok) throw new Error(res.error || r.statusText);
    render(res);
  } catch (e) {
    $("error").textContent = String(e.message || e);
    $("status").textContent = "";
    document.body.dataset.state = "error";
  }
}

function fillControls() {
  $("model").textContent = `${INFO.kind}: ${INFO.layers} layer(s) of ${INFO.hidden_sizes.join(", ")} units; ` +
    `input: ${INFO.input}`;
  $("layer").textContent = "";
  for (let l = 0; l < INFO.layers; l++) $("layer").add(new Option(String(l), String(l)));
  if (INFO.directions > 1) $("direction").add(new Option("backward", "1"));
  INFO.gates.forEach((g) => $("gate").add(new Option(`${g}: ${INFO.titles[g] || g}`, g)));
  if (INFO.gates.includes("f")) $("gate").value = "f";
  if (INFO.input === "series") { $("text-input").style.display = "none"; $("series-input").style.display = ""; }
  const unitMax = () => { $("unit").max = INFO.hidden_sizes[+$("layer").value] - 1; };
  $("layer").addEventListener("change", unitMax);
  unitMax();
  for (const k of ["layer", "unit", "gate", "direction"]) if (PARAMS.has(k)) $(k).value = PARAMS.get(k);
  if (PARAMS.has("text")) $("text").value = PARAMS.get("text");
  if (PARAMS.has("series")) $("series").value = PARAMS.get("series");
}

$("run").addEventListener("click", run);
$("gate").addEventListener("change", () => { if (LAST) { renderTokens(LAST); renderPlot(LAST); } });
$("upload").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  const rows = (await file.text()).split(/\r?\n/).map((line) => line.split(",").map(Number).filter((v) => !isNaN(v)));
  $("series").value = rows.filter((r) => r.length).map((r) => r[r.length - 1]).join(", ");
});

fetch("/api/info").then((r) => r.json()).then((info) => {
  INFO = info;
  fillControls();
  if (PARAMS.has("text") || PARAMS.has("series") || PARAMS.has("run")) run();
}).catch((e) => { $("error").textContent = "could not reach the server: " + e; });
</script>
</body>
</html>
"""
