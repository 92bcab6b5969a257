// Designer-like editing: the palette, steps dropped on the canvas, ports connected by dragging
// (only compatible types: the server's rule, the one `runner pipeline run` validates with),
// the parameter form made from the module's interface, and saving as pipeline YAML.
import { get, post } from "./api.js";
import { drawGraph, toGraph } from "./graph.js";
import { split } from "./layout.js";
import { $, h, notice, registeredId, state } from "./state.js";

export async function moduleInterface(spec) {
  if (!state.interfaces.has(spec)) state.interfaces.set(spec, get("/api/module", { id: spec }));
  return state.interfaces.get(spec);
}

function changed({ relayout = true } = {}) {
  state.dirty = true;
  document.body.dataset.dirty = "true";
  if (relayout) drawGraph();
}

// ---- the palette -------------------------------------------------------------------------

export async function loadPalette() {
  const { modules, problems } = await get("/api/modules");
  state.palette = modules;
  if (problems.length) notice(`palette: ${problems.join("\n")}`, "refused", 0);
  const groups = new Map();
  for (const module of modules) {
    const key = `${module.origin}\u0000${module.name}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(module);
  }
  const list = $("#palette-list");
  list.replaceChildren();
  const titles = { pipeline: "In this pipeline", folder: "In this folder", registry: "Registered" };
  let origin = null;
  for (const [key, versions] of groups) {
    const first = versions[0];
    if (first.origin !== origin) {
      origin = first.origin;
      list.append(h("h4", {}, titles[origin] || origin));
    }
    // A registered module's default version is preselected (else its newest on offer).
    const chosen = versions.find((v) => v.default) || (first.registered ? versions[versions.length - 1] : first);
    const label = h("small", {}, `${first.name} ${chosen.version}`);
    const item = h("div", { class: "module", draggable: "true", "data-module": chosen.id, "data-name": first.name, "data-origin": first.origin, title: chosen.path },
      first.display_name, label);
    if (versions.length > 1 || first.origin === "registry") {
      const picker = h("select", { class: "version", title: "the version a new step runs", onchange: () => {
        const picked = versions.find((v) => v.id === picker.value);
        item.dataset.module = picked.id;
        item.title = picked.path;
        label.textContent = `${first.name} ${picked.version}`;
      } }, versions.map((v) => h("option", { value: v.id }, `${v.version || v.path}${v.default ? " (default)" : ""}`)));
      picker.value = chosen.id;
      item.append(picker);
    }
    item.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", item.dataset.module);
      event.dataTransfer.effectAllowed = "copy";
    });
    item.addEventListener("dblclick", () => addStep(item.dataset.module));
    list.append(item);
    void key;
  }
  $("#palette-filter").oninput = () => {
    const word = $("#palette-filter").value.toLowerCase();
    for (const item of list.querySelectorAll(".module")) item.hidden = word && !item.textContent.toLowerCase().includes(word);
  };
}

export function initEditing() {
  const canvas = $("#canvas");
  canvas.addEventListener("dragover", (event) => { event.preventDefault(); event.dataTransfer.dropEffect = "copy"; });
  canvas.addEventListener("drop", (event) => {
    event.preventDefault();
    const id = event.dataTransfer.getData("text/plain");
    if (id) addStep(id);
  });
  canvas.addEventListener("pointerdown", startWire);
}

function uniqueName(base) {
  const stem = base.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "").replace(/^(\d)/, "_$1") || "step";
  const taken = new Set(state.model.steps.map((s) => s.name));
  if (!taken.has(stem)) return stem;
  for (let i = 2; ; i++) if (!taken.has(`${stem}_${i}`)) return `${stem}_${i}`;
}

export async function addStep(id) {
  let iface;
  try {
    iface = await moduleInterface(id);
  } catch (error) {
    return notice(error.message);
  }
  const name = uniqueName(iface.name.split(/[/.]/).pop());
  state.model.steps.push({ name, component: null, ...moduleFields(id, iface), parameters: {} });
  changed();
  window.runnerPage.select(name);
}

function moduleFields(id, iface) {
  return {
    spec: id,
    registered: iface.registered,
    module: `${iface.name}:${iface.version}`,
    display_name: iface.display_name || iface.name,
    ports: {
      inputs: iface.inputs.filter((i) => i.kind === "port").map((p) => ({ name: p.python_name, types: p.types, optional: p.optional, file: p.file, bound: null })),
      outputs: iface.outputs.map((o) => ({ name: o.python_name, types: o.types, file: o.kind === "file" })),
    },
  };
}

// Another version of a registered step's module: its bound inputs, parameters and edges stay
// where the new version still has the port or parameter; the others go.
export async function changeVersion(step, version) {
  let iface;
  const id = registeredId({ name: step.registered.name, version });
  try {
    iface = await moduleInterface(id);
  } catch (error) {
    return notice(error.message);
  }
  const before = new Map(step.ports.inputs.map((p) => [p.name, p.bound]));
  Object.assign(step, moduleFields(id, iface));
  for (const port of step.ports.inputs) port.bound = before.get(port.name) ?? null;
  const has = (side, port) => step.ports[side].some((p) => p.name === port);
  state.model.edges = state.model.edges.filter((edge) => {
    const [source, output] = split(edge.from);
    const [target, input] = split(edge.to);
    return (source !== step.name || has("outputs", output)) && (target !== step.name || has("inputs", input));
  });
  const parameters = new Set(iface.inputs.filter((i) => i.kind === "parameter").map((i) => i.python_name));
  for (const key of Object.keys(step.parameters)) if (!parameters.has(key)) delete step.parameters[key];
  notice(`${step.name} now runs ${step.registered.name} ${version}: save to write it`, "ok", 4);
  changed();
  window.runnerPage.refreshPanel();
}

// The panel's picker of a registered step's version: the versions the palette offers (enabled
// ones), and the step's own even when it is not offered (disabled since).
export function versionPicker(step) {
  if (!step.registered) return null;
  const { name, version } = step.registered;
  const offered = state.palette.filter((m) => m.origin === "registry" && m.name.toLowerCase() === name.toLowerCase());
  const options = offered.map((m) => h("option", { value: m.version }, `${m.version}${m.default ? " (default)" : ""}`));
  if (!offered.some((m) => m.version === version)) options.push(h("option", { value: version }, `${version} (not offered: disabled or not registered here)`));
  const picker = h("select", { id: "step-version", title: "the registered version this step runs" }, options);
  picker.value = version;
  picker.addEventListener("change", () => changeVersion(step, picker.value));
  return h("div", { class: "version-row" }, h("label", { for: "step-version" }, `${name} version `), picker);
}

export function removeStep(name) {
  state.model.steps = state.model.steps.filter((s) => s.name !== name);
  state.model.edges = state.model.edges.filter((e) => split(e.from)[0] !== name && split(e.to)[0] !== name);
  window.runnerPage.select(null);
  changed();
}

// ---- connecting ports ----------------------------------------------------------------------

let wire = null;

function startWire(event) {
  const port = event.target.closest && event.target.closest(".port-out");
  if (!port) return;
  event.preventDefault();
  event.stopPropagation();
  const node = port.closest("g.node");
  const start = toGraph(event.clientX, event.clientY);
  wire = { step: node.dataset.step, port: port.dataset.port, start };
  const move = (e) => {
    const end = toGraph(e.clientX, e.clientY);
    $("#wire").setAttribute("d", `M${start.x},${start.y} L${end.x},${end.y}`);
    for (const t of document.querySelectorAll(".port.target")) t.classList.remove("target");
    const over = document.elementFromPoint(e.clientX, e.clientY);
    if (over && over.classList && over.classList.contains("port-in")) over.classList.add("target");
  };
  const up = (e) => {
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", up);
    $("#wire").setAttribute("d", "");
    for (const t of document.querySelectorAll(".port.target")) t.classList.remove("target");
    const over = document.elementFromPoint(e.clientX, e.clientY);
    const target = over && over.closest && over.closest(".port-in");
    const from = wire;
    wire = null;
    if (target) connect(from, target.closest("g.node").dataset.step, target.dataset.port);
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
}

function upstreamOf(name) {
  const seen = new Set([name]);
  const todo = [name];
  while (todo.length) {
    const current = todo.pop();
    for (const edge of state.model.edges) {
      const [source] = split(edge.from);
      if (split(edge.to)[0] === current && !seen.has(source)) { seen.add(source); todo.push(source); }
    }
  }
  return seen;
}

export async function connect(from, toStep, toPort) {
  const source = state.model.steps.find((s) => s.name === from.step);
  const target = state.model.steps.find((s) => s.name === toStep);
  const out = source.ports.outputs.find((p) => p.name === from.port);
  const input = target.ports.inputs.find((p) => p.name === toPort);
  const what = `${from.step}.${from.port} -> ${toStep}.${toPort}`;
  if (from.step === toStep || upstreamOf(from.step).has(toStep)) {
    return refuse(`cannot connect ${what}: it would make a cycle (a step cannot depend on itself)`);
  }
  const answer = await post("/api/compatible", { from_types: out.types, to_types: input.types }).catch((error) => ({ ok: false, reason: error.message }));
  if (!answer.ok) return refuse(`cannot connect ${what}: ${answer.reason}`);
  state.model.edges = state.model.edges.filter((e) => e.to !== `${toStep}.${toPort}`);
  state.model.edges.push({ from: `${from.step}.${from.port}`, to: `${toStep}.${toPort}`, type: out.types.join("/") || "any" });
  input.bound = null;
  notice(`connected ${what}`, "ok", 3);
  changed();
  window.runnerPage.refreshPanel();
}

function refuse(message) {
  document.body.dataset.refused = message;
  notice(message, "refused");
}

export function disconnect(step, port) {
  state.model.edges = state.model.edges.filter((e) => e.to !== `${step}.${port}`);
  const target = state.model.steps.find((s) => s.name === step);
  const input = target && target.ports.inputs.find((p) => p.name === port);
  if (input) input.bound = null;
  changed();
  window.runnerPage.refreshPanel();
}

// ---- forms ---------------------------------------------------------------------------------

export function parameterForm(step, iface, detail) {
  const ran = (detail && detail.parameters) || {};
  const rows = iface.inputs.filter((i) => i.kind === "parameter").map((param) => {
    const value = step.parameters[param.python_name];
    const binding = typeof value === "string" && value.includes("${{");
    const field = binding ? textField(param, value) : typedField(param, value);
    field.name = param.python_name;
    field.dataset.param = param.python_name;
    field.addEventListener("change", () => {
      const raw = field.value;
      if (raw === "") delete step.parameters[param.python_name];
      else step.parameters[param.python_name] = convert(param, raw);
      changed({ relayout: false });
    });
    const label = `${param.python_name}${param.optional ? "" : param.default === null ? " *" : ""}`;
    const hint = [param.type, range(param), param.description].filter(Boolean).join(" · ");
    const used = param.python_name in ran ? h("div", {}, h("small", {}, `ran with ${JSON.stringify(ran[param.python_name])}`)) : null;
    return h("tr", {}, h("td", { title: hint }, label, h("br"), h("small", {}, param.type + range(param))), h("td", {}, field, used));
  });
  return h("table", { class: "params" }, rows.length ? rows : h("tr", {}, h("td", {}, "none")));
}

function range(param) {
  if (param.min === null && param.max === null) return "";
  return ` [${param.min ?? ""}..${param.max ?? ""}]`;
}

function textField(param, value) {
  return h("input", { type: "text", value: value ?? "", placeholder: param.default ?? "" });
}

function typedField(param, value) {
  const placeholder = param.default === null || param.default === undefined ? (param.optional ? "(optional)" : "(required)") : `default: ${param.default}`;
  if (param.type === "Enum" || param.type === "Boolean") {
    const options = param.type === "Enum" ? param.options : ["true", "false"];
    const select = h("select", {}, h("option", { value: "" }, placeholder), options.map((o) => h("option", { value: o }, o)));
    select.value = value === undefined || value === null ? "" : String(value);
    return select;
  }
  if (param.type === "Integer" || param.type === "Float") {
    return h("input", { type: "number", step: param.type === "Integer" ? "1" : "any", min: param.min ?? undefined, max: param.max ?? undefined, value: value ?? "", placeholder });
  }
  return h("input", { type: "text", value: value ?? "", placeholder });
}

function convert(param, raw) {
  if (raw.includes("${{")) return raw;
  if (param.type === "Integer") return Number.parseInt(raw, 10);
  if (param.type === "Float") return Number.parseFloat(raw);
  if (param.type === "Boolean") return raw === "true";
  return raw;
}

export function portRows(step, detail) {
  const ran = (detail && detail.inputs) || {};
  const rows = step.ports.inputs.map((port) => {
    const edge = state.model.edges.find((e) => e.to === `${step.name}.${port.name}`);
    let cell;
    if (edge) {
      cell = h("span", {}, h("code", {}, edge.from), " ", h("button", { type: "button", class: "disconnect", onclick: () => disconnect(step.name, port.name) }, "disconnect"));
    } else {
      cell = h("input", { type: "text", "data-port": port.name, value: port.bound ?? "", placeholder: port.optional ? "(optional) a path" : "a path, relative to the pipeline file" });
      cell.addEventListener("change", () => { port.bound = cell.value || null; changed({ relayout: false }); });
    }
    const used = ran[port.name];
    return h("tr", {}, h("td", {}, `${port.name} (${port.types.join(" | ")})`), h("td", {}, cell, used ? h("div", {}, h("small", {}, `ran with ${used}`)) : null));
  });
  return h("table", {}, rows.length ? rows : h("tr", {}, h("td", {}, "none")));
}

// ---- saving --------------------------------------------------------------------------------

export function saveBody(path) {
  return {
    path,
    new: !state.pipeline,
    steps: state.model.steps.map((step) => {
      const inputs = { ...step.parameters };
      for (const port of step.ports.inputs) {
        const edge = state.model.edges.find((e) => e.to === `${step.name}.${port.name}`);
        if (edge) {
          const [source, output] = split(edge.from);
          inputs[port.name] = `\${{parent.jobs.${source}.outputs.${output}}}`;
        } else if (port.bound !== null && port.bound !== undefined && port.bound !== "") {
          inputs[port.name] = port.bound;
        }
      }
      return { name: step.name, module: step.spec, inputs };
    }),
  };
}
