"""The faults page's script: refresh from state.json, draw the chart (SVG), show only the chosen kind's fields.

The chart draws what Locust's Charts tab draws (requests/s, p50/p95 response times, failures/s, sampled
once a second) with every fault window as a band coloured by kind and named in a lane above the panels,
so overlapping windows stay apart; dashed lines mark the load steps. Kind colours: brownout.report.colours,
the report's own, so a band has one colour everywhere.
"""

import json

from brownout.report.colours import DEFAULT_COLOUR, colours_as_js

SCRIPT = r"""
const KIND_COLOURS = __KIND_COLOURS__;
const DEFAULT_COLOUR = __DEFAULT_COLOUR__;
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function lanes(windows) {
  const ends = [];
  for (const w of windows) {
    let lane = ends.findIndex(end => end <= w.start);
    if (lane < 0) { lane = ends.length; ends.push(0); }
    ends[lane] = w.reach;  // as far as its label reaches: a long label never runs into the next window's
    w.lane = lane;
  }
  return Math.max(1, ends.length);
}

function drawChart(state) {
  const box = document.getElementById("chart");
  const s = state.series || {};
  const t = s.t || [];
  if (!state.test || t.length === 0) {
    box.innerHTML = '<p class="muted">the chart appears when a test runs</p>';
    document.getElementById("legend").textContent = "";
    return;
  }
  const tEnd = Math.max(10, state.load_s || 0, t[t.length - 1]);  // the whole plan, or longer if it ran on
  const windows = state.faults.filter(f => f.start_s !== null).map(f => ({
    name: f.name, kind: f.kind, what: f.what, band: f.band || f.kind, start: f.start_s,
    end: f.end_s !== null ? f.end_s : tEnd, state: f.state}));
  windows.sort((a, b) => a.start - b.start);
  const width = Math.max(480, box.clientWidth || 900), left = 58, right = 14, laneH = 16;
  const secondsPerPixel = tEnd / (width - left - right);
  windows.forEach(w => {
    w.label = w.name + " (" + (w.what || w.kind) + ")";
    w.reach = Math.max(w.end, w.start + (w.label.length * 6.2 + 10) * secondsPerPixel);  // 11px text
  });
  const laneCount = lanes(windows);
  const top = 6 + laneCount * laneH, panelH = 120, gap = 26;
  const panels = [
    {title: "requests/s", series: [["rps", "#1f77b4", "requests/s"]]},
    {title: "response time ms", series: [["p50", "#7f7f7f", "p50"], ["p95", "#111111", "p95"]]},
    {title: "failures/s", series: [["fail", "#d62728", "failures/s"]]},
  ];
  const height = top + panels.length * (panelH + gap) + 10;
  const svg = el("svg", {width: width, height: height, role: "img",
                         "aria-label": "requests/s, response times and failures/s with the fault windows"});
  const x = v => left + (width - left - right) * v / tEnd;
  windows.forEach(w => {
    const colour = KIND_COLOURS[w.band] || DEFAULT_COLOUR;
    const y = 4 + w.lane * laneH;
    svg.appendChild(el("rect", {x: x(w.start), y: y, width: Math.max(2, x(w.end) - x(w.start)), height: laneH - 4,
                                fill: colour, "fill-opacity": 0.4, class: "fault-label"}));
    // Dark text on a light bar: a label longer than its window stays readable past the bar's end.
    svg.appendChild(el("text", {x: x(w.start) + 3, y: y + laneH - 7, fill: "#111"}, w.label));
  });
  panels.forEach((panel, index) => {
    const y0 = top + index * (panelH + gap) + 14;
    let max = 0;
    panel.series.forEach(([key]) => (s[key] || []).forEach(v => { if (v !== null && v > max) max = v; }));
    max = max > 0 ? max * 1.1 : 1;
    const y = v => y0 + panelH - panelH * v / max;
    svg.appendChild(el("text", {x: left, y: y0 - 4, "font-weight": 600}, panel.title));
    svg.appendChild(el("rect", {x: left, y: y0, width: width - left - right, height: panelH, fill: "none",
                                stroke: "#ccc"}));
    windows.forEach(w => {
      const colour = KIND_COLOURS[w.band] || DEFAULT_COLOUR;
      svg.appendChild(el("rect", {x: x(w.start), y: y0, width: Math.max(2, x(w.end) - x(w.start)), height: panelH,
                                  fill: colour, "fill-opacity": 0.12, class: "fault-band", "data-fault": w.name}));
      [w.start, w.end].forEach(edge => svg.appendChild(el("line", {x1: x(edge), x2: x(edge), y1: y0, y2: y0 + panelH,
        stroke: colour, "stroke-width": 1.2})));
    });
    (state.step_starts || []).forEach((start, i) => {
      if (start > tEnd) return;
      svg.appendChild(el("line", {x1: x(start), x2: x(start), y1: y0, y2: y0 + panelH, stroke: "#2ca02c",
                                  "stroke-dasharray": "4 3"}));
      if (index === 0) svg.appendChild(el("text", {x: x(start) + 3, y: y0 + 11, fill: "#2ca02c"}, "step " + (i + 2)));
    });
    [0, max / 2, max].forEach(v => svg.appendChild(el("text", {x: left - 6, y: y(v) + 4, "text-anchor": "end",
      fill: "#555"}, v >= 100 ? v.toFixed(0) : v.toFixed(1))));
    panel.series.forEach(([key, colour]) => {
      const values = s[key] || [];
      let d = "";
      values.forEach((v, i) => {
        if (v !== null) d += (d && values[i - 1] !== null ? "L" : "M") + x(t[i]) + "," + y(v);
      });
      if (d) svg.appendChild(el("path", {d: d, fill: "none", stroke: colour, "stroke-width": 1.6,
                                         class: "series-" + key}));
    });
  });
  const yAxis = top + panels.length * (panelH + gap) + 2;
  [0, tEnd / 2, tEnd].forEach(v => svg.appendChild(el("text", {x: x(v), y: yAxis, "text-anchor": "middle",
    fill: "#555"}, "+" + v.toFixed(0) + "s")));
  box.replaceChildren(svg);
  const legend = [["#1f77b4", "requests/s"], ["#7f7f7f", "p50"], ["#111111", "p95"], ["#d62728", "failures/s"]]
    .map(([c, n]) => '<span><i class="swatch" style="background:' + c + '"></i>' + n + "</span>");
  // One swatch per colour: a kind, or a resource fault's resource ("resource cpu fault").
  const bands = new Map(windows.map(w => [w.band, w.band === w.kind ? w.kind : w.kind + " " + w.band]));
  const kinds = [...bands].map(([band, said]) => '<span><i class="swatch" style="background:'
    + (KIND_COLOURS[band] || DEFAULT_COLOUR) + ';opacity:.6"></i>' + said + " fault</span>");
  document.getElementById("legend").innerHTML = legend.concat(kinds,
    ['<span><i class="swatch" style="border-left:2px dashed #2ca02c"></i>load step</span>']).join("");
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function drawFaults(state) {
  const body = document.getElementById("faults");
  const rows = state.faults.map(f => {
    const tr = document.createElement("tr");
    tr.className = "tone-" + f.tone;
    BROWNOUT.columns.forEach(([key]) => tr.appendChild(cell(f[key] || "")));
    const last = document.createElement("td");
    if (f.tone === "active" && BROWNOUT.token) {
      const form = document.createElement("form");
      form.method = "post"; form.action = BROWNOUT.base + "/brownout/faults/heal";
      for (const [name, value] of [["csrf_token", BROWNOUT.token], ["name", f.name]]) {
        const input = document.createElement("input");
        input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
      }
      const button = document.createElement("button"); button.textContent = "heal now"; form.appendChild(button);
      last.appendChild(form);
    }
    tr.appendChild(last);
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement("tr"); const td = cell("no faults in this test");
    td.colSpan = BROWNOUT.columns.length + 1; tr.appendChild(td); rows.push(tr);
  }
  body.replaceChildren(...rows);
}

function drawTests(state) {
  const list = document.getElementById("test-list");
  if (!state.tests.length) return;
  list.replaceChildren(...state.tests.map(test => {
    const li = document.createElement("li");
    li.append("test " + test.number + ": " + test.state);
    if (test.verdict) {
      li.append(", verdict ");
      const v = document.createElement("span"); v.className = "verdict-" + test.verdict; v.textContent = test.verdict;
      li.appendChild(v);
    }
    for (const file of test.files.concat([{name: "results folder", href: test.folder}])) {
      li.append(" \u00b7 ");
      const a = document.createElement("a"); a.href = file.href; a.textContent = file.name; li.appendChild(a);
    }
    const code = document.createElement("code"); code.textContent = test.out; li.append(" "); li.appendChild(code);
    return li;
  }));
}

function drawStatus(state) {
  const bar = document.getElementById("status");
  const test = state.test;
  if (!test) { bar.textContent = "no test started yet: start one in Locust (its start form shows the plan)"; return; }
  let text = "test " + test.number + ": " + test.state + ", +" + Math.round(test.elapsed_s) + "s";
  if (test.step) text += " \u00b7 load " + test.step + " (" + test.users + " users now)";
  const active = state.faults.filter(f => f.tone === "active").map(f => f.name);
  text += " \u00b7 " + (active.length ? "in force: " + active.join(", ") : "no fault in force");
  const done = state.tests.find(t => t.number === test.number);
  if (done && done.verdict) text += " \u00b7 verdict " + done.verdict;
  bar.textContent = text;
}

function drawAbort(state) {
  // A guard breached or the kill switch pulled: the current test was healed and stopped; say why, loudly.
  const banner = document.getElementById("abort");
  const aborted = state.test && state.test.aborted;
  banner.hidden = !aborted;
  banner.textContent = aborted ? "test " + state.test.number + " " + aborted +
    ": every fault in force was healed, then the load stopped" : "";
}

async function refresh() {
  try {
    const answer = await fetch(BROWNOUT.base + "/brownout/faults/state.json", {cache: "no-store"});
    if (!answer.ok) return;
    const state = await answer.json();
    drawStatus(state); drawAbort(state); drawChart(state); drawFaults(state); drawTests(state);
    document.body.dataset.refreshed = String(Date.now());
  } catch (error) { /* Locust stopped: keep the last picture */ }
}

function showKindFields() {
  const kind = document.getElementById("kind");
  if (!kind) return;
  // A field may belong to several kinds: data-kind="partition-isolate partition-between". The fields of the
  // other kinds are hidden and disabled, so the form sends only the chosen kind's.
  document.querySelectorAll("[data-kind]").forEach(p => {
    p.hidden = !p.dataset.kind.split(" ").includes(kind.value);
    p.querySelectorAll("input, select").forEach(field => { field.disabled = p.hidden; });
  });
  const target = document.getElementById("target");
  const names = BROWNOUT.targets[kind.value];  // "proxy" or "component"
  if (target && names) target.placeholder = "a " + names + " (see the list)";
}

document.getElementById("kind")?.addEventListener("change", showKindFields);
showKindFields();
refresh();
setInterval(refresh, 2000);
""".replace("__KIND_COLOURS__", colours_as_js()).replace("__DEFAULT_COLOUR__", json.dumps(DEFAULT_COLOUR))
