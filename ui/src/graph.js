// The canvas: lay out the model, draw it, keep node statuses in step with the live run.
import { layout } from "./layout.js";
import { drawEdges, drawLegend, drawNodes, nodeOf, typeColours } from "./render.js";
import { $, state, stepStatus } from "./state.js";
import { zoomable } from "./zoom.js";

let zoom = null;
let laidOut = null;
let generation = 0;

export function initCanvas() {
  zoom = zoomable($("#canvas"), $("#viewport"));
  $("#fit").addEventListener("click", fit);
  return zoom;
}

export function fit() {
  if (laidOut) zoom.fit(laidOut.width || 1, laidOut.height || 1);
}

export async function drawGraph({ refit = false } = {}) {
  const mine = ++generation;
  const laid = await layout(state.model);
  if (mine !== generation) return; // a newer drawing started meanwhile
  laidOut = laid;
  const colours = typeColours(state.model);
  drawEdges($("#edges"), laid, state.model, colours);
  drawNodes($("#nodes"), laid, state.model, colours);
  drawLegend($("#legend"), colours, state.model);
  paintStatuses();
  if (state.selected) nodeOf($("#canvas"), state.selected)?.classList.add("selected");
  if (refit) fit();
  document.body.dataset.rendered = String(mine);
  if (mine === 1) performance.mark("runner-first-render"); // bench/bench_ui.py reads it
}

export function paintStatuses() {
  const now = Date.now() / 1000;
  for (const node of document.querySelectorAll("#nodes g.node")) {
    const name = node.dataset.step;
    const status = stepStatus(name);
    if (node.dataset.status !== status) node.setAttribute("data-status", status);
    const info = state.live && state.live.steps[name];
    const sub = node.querySelector('[data-role="sub"]');
    const step = state.model.steps.find((s) => s.name === name);
    let text = step ? step.display_name || step.module || "" : "";
    if (info && status === "running" && info.started_at) text = `running ${Math.max(0, now - info.started_at).toFixed(0)} s`;
    else if (info && ["succeeded", "failed"].includes(status) && info.duration != null) text = `${info.state} in ${Number(info.duration).toFixed(1)} s`;
    else if (info && status === "cached") text = "cached";
    else if (info && status === "skipped") text = info.state === "aborted" ? "aborted: upstream failed" : "skipped";
    if (sub && sub.textContent !== text) sub.textContent = text;
  }
}

export function select(name) {
  for (const node of document.querySelectorAll("#nodes g.node.selected")) node.classList.remove("selected");
  state.selected = name;
  if (name) nodeOf($("#canvas"), name)?.classList.add("selected");
}

export function toGraph(x, y) {
  return zoom.toGraph(x, y);
}
