// Drawing the laid-out graph as SVG: one <g data-step data-status> per step with its ports, one
// <path data-edge> per edge, coloured by port type (the legend names the colours).
import { HEAD, edgeKey, portY, split } from "./layout.js";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#7c3aed", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#ca8a04", "#4f46e5", "#0d9488", "#9333ea", "#b45309"];

export function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

export function typeColours(model) {
  const types = new Set();
  for (const step of model.steps) {
    for (const p of [...step.ports.inputs, ...step.ports.outputs]) types.add(p.types.join("/") || "any");
  }
  for (const edge of model.edges) types.add(edge.type);
  const sorted = [...types].sort();
  return new Map(sorted.map((t, i) => [t, COLOURS[i % COLOURS.length]]));
}

function text(parent, x, y, content, cls, anchor = "start") {
  const node = el("text", { x, y, class: cls, "text-anchor": anchor, "dominant-baseline": "middle" }, parent);
  node.textContent = content;
  return node;
}

function clip(content, width) {
  const max = Math.floor(width / 7);
  return content.length > max ? `${content.slice(0, max - 1)}…` : content;
}

export function drawNodes(layer, laid, model, colours) {
  layer.replaceChildren();
  const byName = new Map(model.steps.map((s) => [s.name, s]));
  for (const box of laid.children) {
    const step = byName.get(box.id);
    const g = el("g", { class: "node", transform: `translate(${box.x},${box.y})`, "data-step": step.name, "data-status": "pending" }, layer);
    el("rect", { class: "body", width: box.width, height: box.height }, g);
    el("rect", { class: "band", width: box.width, height: 4, rx: 2 }, g);
    text(g, 10, 16, clip(step.name, box.width - 20), "title");
    const sub = text(g, 10, 31, clip(step.display_name || step.module || "", box.width - 20), "sub");
    sub.dataset.role = "sub";
    step.ports.inputs.forEach((port, i) => {
      const colour = colours.get(port.types.join("/") || "any");
      const c = el("circle", { class: "port port-in", cx: 0, cy: portY(i), r: 5, fill: colour, "data-port": port.name, "data-side": "in" }, g);
      c.appendChild(el("title")).textContent = `${port.name}: ${port.types.join(" | ")}${port.optional ? " (optional)" : ""}`;
      text(g, 9, portY(i), port.name, "port-label");
    });
    step.ports.outputs.forEach((port, i) => {
      const colour = colours.get(port.types.join("/") || "any");
      const c = el("circle", { class: "port port-out", cx: box.width, cy: portY(i), r: 5, fill: colour, "data-port": port.name, "data-side": "out" }, g);
      c.appendChild(el("title")).textContent = `${port.name}: ${port.types.join(" | ")}`;
      text(g, box.width - 9, portY(i), port.name, "port-label", "end");
    });
    if (!step.ports.inputs.length && !step.ports.outputs.length) text(g, 10, HEAD + 8, "no ports", "sub");
  }
}

export function drawEdges(layer, laid, model, colours) {
  layer.replaceChildren();
  const byKey = new Map(model.edges.map((e) => [edgeKey(e), e]));
  for (const laidEdge of laid.edges || []) {
    const edge = byKey.get(laidEdge.id);
    if (!edge || !laidEdge.sections) continue;
    const colour = colours.get(edge.type) || "#667085";
    const g = el("g", { class: "edge-group" }, layer);
    for (const section of laidEdge.sections) {
      const points = [section.startPoint, ...(section.bendPoints || []), section.endPoint];
      const path = el("path", { class: "edge", d: rounded(points), stroke: colour, "data-edge": laidEdge.id, "data-type": edge.type }, g);
      path.appendChild(el("title")).textContent = `${edge.from} → ${edge.to} (${edge.type})`;
    }
    for (const label of laidEdge.labels || []) {
      text(g, label.x + label.width / 2, label.y + label.height / 2, label.text, "edge-label", "middle");
    }
  }
}

function rounded(points, radius = 6) {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const [a, b, c] = [points[i - 1], points[i], points[i + 1]];
    const r = Math.min(radius, dist(a, b) / 2, dist(b, c) / 2);
    const p1 = toward(b, a, r);
    const p2 = toward(b, c, r);
    d += ` L${p1.x},${p1.y} Q${b.x},${b.y} ${p2.x},${p2.y}`;
  }
  const last = points[points.length - 1];
  return `${d} L${last.x},${last.y}`;
}

const dist = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);
function toward(from, to, r) {
  const d = dist(from, to) || 1;
  return { x: from.x + ((to.x - from.x) * r) / d, y: from.y + ((to.y - from.y) * r) / d };
}

export function drawLegend(box, colours, model) {
  box.replaceChildren();
  const used = new Set(model.edges.map((e) => e.type));
  for (const [type, colour] of colours) {
    if (!used.has(type)) continue;
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    item.append(swatch, type);
    box.appendChild(item);
  }
  box.hidden = used.size === 0;
}

export function nodeOf(svg, name) {
  return svg.querySelector(`g.node[data-step="${CSS.escape(name)}"]`);
}

export function edgeEnds(edge) {
  return [split(edge.from), split(edge.to)];
}
