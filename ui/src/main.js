// The page: pick a pipeline, draw it, follow its latest run live, and wire the buttons.
import { get, post, stream } from "./api.js";
import { loadPalette, initEditing, saveBody } from "./editor.js";
import { drawGraph, initCanvas, paintStatuses, select } from "./graph.js";
import { closeStep, showStep } from "./panel.js";
import { $, h, notice, registeredId, runCommand, state } from "./state.js";

let liveSource = null;
let jobTimer = null;

async function start() {
  initCanvas();
  initEditing();
  wireButtons();
  const session = await get("/api/session");
  state.registry = session.registry;
  const wanted = new URLSearchParams(location.search).get("p");
  fillPipelines(session.pipelines, wanted || session.pipelines[0] || null);
  loadPalette().catch((error) => notice(`palette: ${error.message}`));
  if (state.pipeline) await openPipeline(state.pipeline);
  else newPipeline();
  setInterval(paintStatuses, 1000); // running steps' elapsed time
}

function fillPipelines(ids, selected) {
  const picker = $("#pipeline-select");
  picker.replaceChildren(...ids.map((id) => h("option", { value: id }, id)));
  if (selected && !ids.includes(selected)) picker.append(h("option", { value: selected }, selected));
  picker.value = selected || "";
  state.pipeline = selected;
}

async function openPipeline(id) {
  state.pipeline = id;
  state.dirty = false;
  delete document.body.dataset.dirty;
  $("#save-path").hidden = true;
  const graph = await get("/api/graph", { p: id });
  // A registered step is its version, not the checkout its spec was loaded from.
  for (const step of graph.steps) if (step.registered) step.spec = registeredId(step.registered);
  state.model = { steps: graph.steps, edges: graph.edges };
  state.problems = graph.problems;
  state.graph = graph;
  state.live = null;
  closeStep();
  select(null);
  setCommand(runCommand());
  await drawGraph({ refit: true });
  if (graph.problems.length) notice(`runner pipeline run will refuse this pipeline:\n${graph.problems.join("\n")}`, "refused", 0);
  else $("#notice").hidden = true;
  await refreshRuns();
  follow();
  watchJob();
}

async function refreshRuns() {
  const { runs } = await get("/api/runs", { p: state.pipeline });
  const picker = $("#run-select");
  const keep = state.pinnedRun;
  picker.replaceChildren(h("option", { value: "" }, runs.length ? "latest run (live)" : "no runs yet"), ...runs.map((r) => h("option", { value: r }, r)));
  picker.value = runs.includes(keep) ? keep : "";
}

function follow() {
  if (liveSource) liveSource.close();
  const params = { p: state.pipeline };
  if (state.pinnedRun) params.run = state.pinnedRun;
  liveSource = stream("/api/live", params, {
    state: (live) => {
      const isNew = !state.live || state.live.run !== live.run;
      state.live = live;
      paintStatuses();
      const badge = $("#run-status");
      badge.textContent = `${live.run}: ${live.status}`;
      badge.dataset.status = live.status;
      document.body.dataset.runStatus = live.status;
      if (isNew) refreshRuns().catch(() => {}); // the list is refreshed on the next run anyway
      if (live.status !== "running") watchJob(); // the page's own run ended: say so now
      if (state.selected) showStep(state.selected);
    },
  });
}

function setCommand(text) {
  $("#command-text").textContent = text;
}

async function run(options = {}) {
  if (state.dirty) return notice("save the pipeline first: runs use the saved file");
  if (!state.pipeline) return notice("save the pipeline first");
  const extra = [...(options.from ? ["--from", options.from] : []), ...(options.force ? ["--force", options.force] : [])];
  setCommand(runCommand(extra));
  try {
    const { job } = await post("/api/run", { p: state.pipeline, ...options });
    setCommand(job.command);
    state.pinnedRun = "";
    $("#run-select").value = "";
    showJob(job);
    watchJob();
  } catch (error) {
    notice(error.message);
  }
}

function showJob(job) {
  $("#job").hidden = !job;
  $("#stop").disabled = !job || !job.running;
  $("#run-pipeline").disabled = Boolean(job && job.running);
  if (!job) return;
  $("#job-output").textContent = job.output;
  document.body.dataset.job = job.running ? "running" : `exit-${job.exit_code}`;
  if (!job.running && job.exit_code === 2) {
    $("#job").open = true;
    notice(`the run was refused:\n${job.output.trim().split("\n").slice(-6).join("\n")}`);
  }
}

function watchJob() {
  clearInterval(jobTimer);
  const tick = async () => {
    if (!state.pipeline) return;
    const { job } = await get("/api/job", { p: state.pipeline }).catch(() => ({ job: null }));
    showJob(job);
    if (!job || !job.running) clearInterval(jobTimer);
  };
  tick();
  jobTimer = setInterval(tick, 300);
}

function newPipeline() {
  state.pipeline = null;
  state.model = { steps: [], edges: [] };
  state.live = null;
  if (liveSource) liveSource.close();
  closeStep();
  $("#pipeline-select").value = "";
  $("#save-path").hidden = false;
  $("#run-status").textContent = "";
  setCommand("");
  drawGraph({ refit: true });
  notice("drag modules from the palette onto the canvas, connect their ports, then save", "ok", 6);
}

async function save() {
  const path = state.pipeline || $("#save-path").value.trim();
  if (!path) {
    $("#save-path").focus();
    return notice("name the new pipeline file first (e.g. my_pipeline.yml)");
  }
  try {
    const saved = await post("/api/save", saveBody(path));
    const ids = [...$("#pipeline-select").options].map((o) => o.value).filter(Boolean);
    fillPipelines(ids.includes(saved.id) ? ids : [...ids, saved.id], saved.id);
    await openPipeline(saved.id);
    document.body.dataset.saved = saved.id;
    if (saved.problems.length) notice(`saved ${saved.id}; runner pipeline run will refuse it until fixed:\n${saved.problems.join("\n")}`, "refused", 0);
    else notice(`saved ${saved.id}`, "ok", 4);
  } catch (error) {
    notice(error.message);
  }
}

function wireButtons() {
  $("#pipeline-select").addEventListener("change", (event) => {
    state.pinnedRun = "";
    openPipeline(event.target.value).catch((error) => notice(error.message, "refused", 0));
  });
  $("#run-select").addEventListener("change", (event) => {
    state.pinnedRun = event.target.value;
    state.live = null;
    follow();
  });
  $("#run-pipeline").addEventListener("click", () => run());
  $("#run-pipeline").addEventListener("mouseenter", () => setCommand(runCommand()));
  $("#stop").addEventListener("click", async () => {
    try {
      const { job } = await post("/api/stop", { p: state.pipeline });
      showJob(job);
    } catch (error) {
      notice(error.message);
    }
  });
  $("#save").addEventListener("click", save);
  $("#new-pipeline").addEventListener("click", newPipeline);
  $("#nodes").addEventListener("click", (event) => {
    if (event.target.closest(".port")) return;
    const node = event.target.closest("g.node");
    if (!node) return;
    select(node.dataset.step);
    showStep(node.dataset.step, true);
  });
}

window.runnerPage = {
  run,
  select: (name) => { select(name); if (name) showStep(name, true); else closeStep(); },
  refreshPanel: () => { if (state.selected) showStep(state.selected, true); },
};

start().catch((error) => notice(`the page could not start: ${error.message}`, "refused", 0));
