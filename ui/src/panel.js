// The step panel (#step-detail): status, buttons with their commands, the parameter form,
// bound inputs, outputs, cache key, why it ran or came from the cache, and the live log.
import { fileUrl, get, stream } from "./api.js";
import { moduleInterface, parameterForm, portRows, removeStep, versionPicker } from "./editor.js";
import { fit } from "./graph.js";
import { $, h, quote, runCommand, state, stepStatus } from "./state.js";

let logSource = null;
let logKey = "";
let shown = { name: null, run: null, state: null };

export function closeStep() {
  $("#step-detail").hidden = true;
  closeLog();
  shown = { name: null, run: null, state: null };
}

function closeLog() {
  if (logSource) logSource.close();
  logSource = null;
  logKey = "";
}

// Called on selection and on every live update: redraws when the step's run or state changed.
export async function showStep(name, force = false) {
  const run = state.live ? state.live.run : null;
  const info = state.live && state.live.steps[name];
  const stepState = info ? info.state : "none";
  if (!force && shown.name === name && shown.run === run && shown.state === stepState) return;
  if (shown.name !== name) {
    $("#detail-body").replaceChildren(); // never another step's details under this one's name
    closeLog();
    $("#step-log").textContent = "";
    delete $("#step-log").dataset.ended;
  }
  shown = { name, run, state: stepState };
  const step = state.model.steps.find((s) => s.name === name);
  if (!step) return closeStep();
  const panel = $("#step-detail");
  if (panel.hidden) {
    panel.hidden = false;
    requestAnimationFrame(fit); // the canvas got narrower: keep the whole graph in view
  }
  const status = stepStatus(name);
  const inRun = Boolean(info) && !state.dirty;
  $("#detail-head").replaceChildren(...[
    h("h2", {}, name),
    h("div", {}, h("span", { class: "status", "data-status": status }, info ? info.state : "pending"), " ", h("small", {}, step.module || "")),
    versionPicker(step),
    actions(name),
    info && info.message ? h("p", { class: "message" }, info.message) : null,
  ].filter(Boolean));
  followLog(name, inRun ? run : null, status);
  const body = $("#detail-body");
  const iface = await moduleInterface(step.spec).catch(() => null);
  const record = inRun && status !== "pending" ? await get("/api/step", { run, step: name }).catch(() => null) : null;
  if (shown.name !== name) return; // another step was selected meanwhile
  const detail = record && record.record;
  body.replaceChildren(
    h("h3", {}, "Parameters"),
    iface ? parameterForm(step, iface, detail) : h("p", {}, "(module interface unavailable)"),
    h("h3", {}, "Inputs"),
    portRows(step, detail),
    h("h3", {}, "Outputs"),
    outputs(step, inRun ? info : null, run),
    h("h3", {}, "Cache"),
    h("table", {}, h("tr", {}, h("td", {}, "key"), h("td", {}, h("code", { id: "cache-key" }, (detail && detail.cache_key) || (info && info.cache_key) || "—")))),
    h("h3", {}, "Why it ran or came from the cache"),
    h("pre", { class: "why", id: "why" }, "…"),
    h("code", { id: "why-command" }),
  );
  explain(name, inRun ? run : null);
}

function actions(name) {
  const from = ["--from", name];
  const force = ["--force", name];
  return h("div", { class: "actions" },
    h("div", {}, h("button", { id: "rerun-from", type: "button", "data-command": runCommand(from), onclick: () => window.runnerPage.run({ from: name }) }, "Re-run from here"), h("code", {}, runCommand(from))),
    h("div", {}, h("button", { id: "force-step", type: "button", "data-command": runCommand(force), onclick: () => window.runnerPage.run({ force: name }) }, "Force this step"), h("code", {}, runCommand(force))),
    h("div", {}, h("button", { id: "delete-step", type: "button", onclick: () => removeStep(name) }, "Delete step")),
  );
}

function outputs(step, info, run) {
  const produced = (info && info.outputs) || {};
  const rows = step.ports.outputs.map((port) => {
    const path = produced[port.name];
    const relative = path ? relativeToRun(path) : null;
    let value = "—";
    if (path) value = relative && port.file ? h("a", { href: fileUrl(run, relative), target: "_blank" }, path) : h("code", {}, path);
    return h("tr", {}, h("td", {}, `${port.name} (${port.types.join(" | ")})`), h("td", {}, value));
  });
  return h("table", {}, rows.length ? rows : h("tr", {}, h("td", {}, "none")));
}

function relativeToRun(path) {
  const marker = `/${state.live ? state.live.run : "\u0000"}/`;
  const at = path.indexOf(marker);
  return at >= 0 ? path.slice(at + marker.length) : null;
}

async function explain(name, run) {
  const params = { p: state.pipeline, step: name };
  if (run) params.run = run;
  if (!state.pipeline) return;
  try {
    const answer = await get("/api/explain", params);
    if (shown.name !== name) return;
    $("#why").textContent = answer.text;
    $("#why-command").textContent = answer.command ? `$ ${answer.command}` : "";
  } catch (error) {
    if (shown.name === name) $("#why").textContent = error.message;
  }
}

function followLog(name, run, status) {
  const key = `${run}/${name}`;
  if (key === logKey && logSource) return;
  closeLog();
  const log = $("#step-log");
  delete log.dataset.ended;
  if (!run || status === "pending") {
    log.textContent = run ? "(not started)" : "(no run yet)";
    return;
  }
  if (status === "skipped") {
    log.textContent = "(not run)";
    return;
  }
  log.textContent = "";
  logKey = key;
  logSource = stream("/api/log", { run, step: name }, {
    log: (chunk) => {
      const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(chunk);
      if (stick) log.scrollTop = log.scrollHeight;
    },
    end: () => { if (logSource) logSource.close(); log.dataset.ended = "true"; },
  });
}

export { quote };
