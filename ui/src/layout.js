// Node sizes and port places, and the graph laid out by ELK (layered, left to right). Ports sit
// at fixed places on each node's sides (FIXED_POS) so that their labels can be drawn beside
// them; ELK places nodes, routes edges orthogonally and places the edge labels.
import ELK from "elkjs/lib/elk.bundled.js";

const elk = new ELK();
export const HEAD = 40; // title band
export const ROW = 18; // one port row
const CHAR = 6.4; // average width of a 10.5 px label character

export function nodeSize(step) {
  const inputs = step.ports.inputs;
  const outputs = step.ports.outputs;
  const longest = (ports) => Math.max(0, ...ports.map((p) => p.name.length));
  const title = Math.max(step.name.length, (step.display_name || "").length) * 7.2 + 24;
  const ports = (longest(inputs) + longest(outputs)) * CHAR + 44;
  const width = Math.round(Math.max(150, title, ports));
  const height = HEAD + Math.max(1, inputs.length, outputs.length) * ROW + 6;
  return { width, height };
}

export function portY(index) {
  return HEAD + index * ROW + ROW / 2;
}

export const portId = (step, side, name) => `${step}\u0000${side}\u0000${name}`;

export async function layout(model) {
  const children = model.steps.map((step) => {
    const { width, height } = nodeSize(step);
    const ports = [
      ...step.ports.inputs.map((p, i) => ({
        id: portId(step.name, "in", p.name), width: 1, height: 1, x: 0, y: portY(i),
        layoutOptions: { "elk.port.side": "WEST" },
      })),
      ...step.ports.outputs.map((p, i) => ({
        id: portId(step.name, "out", p.name), width: 1, height: 1, x: width - 1, y: portY(i),
        layoutOptions: { "elk.port.side": "EAST" },
      })),
    ];
    return { id: step.name, width, height, ports, layoutOptions: { "elk.portConstraints": "FIXED_POS" } };
  });
  const names = new Set(model.steps.map((s) => s.name));
  const edges = model.edges
    .filter((e) => names.has(e.from.split(".")[0]) && names.has(e.to.split(".")[0]))
    .map((edge) => {
      const [fromStep, out] = split(edge.from);
      const [toStep, input] = split(edge.to);
      const text = out;
      return {
        id: edgeKey(edge),
        sources: [portId(fromStep, "out", out)],
        targets: [portId(toStep, "in", input)],
        labels: [{ text, width: text.length * 5.8 + 4, height: 12 }],
      };
    });
  const graph = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "28",
      "elk.spacing.edgeEdge": "8",
      "elk.spacing.edgeLabel": "2",
      "elk.edgeLabels.placement": "CENTER",
      "elk.layered.edgeLabels.sideSelection": "ALWAYS_UP",
      "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
      "elk.separateConnectedComponents": "true",
    },
    children,
    edges,
  };
  return elk.layout(graph);
}

export function split(ref) {
  const dot = ref.indexOf(".");
  return [ref.slice(0, dot), ref.slice(dot + 1)];
}

export function edgeKey(edge) {
  return `${edge.from}->${edge.to}`;
}
