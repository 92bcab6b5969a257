// The page's one state object, and the small helpers every part uses.
export const state = {
  pipeline: null, // the id of the pipeline shown (its path as typed from the served folder)
  model: { steps: [], edges: [] }, // steps and edges as the page has them (edited or not)
  problems: [],
  live: null, // the followed run's state, as /api/live sends it
  pinnedRun: "", // "" follows the latest run
  selected: null,
  dirty: false,
  interfaces: new Map(), // module id -> the module's interface (runner show --json)
  palette: [], // the modules on offer, as /api/modules lists them
  registry: null, // the server's --registry, repeated in the commands the page shows
};

// How the page (and a saved pipeline) names a registered version: its id in the palette.
export const registeredId = ({ name, version }) => `azureml:${name}:${version}`;

export const $ = (selector) => document.querySelector(selector);

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

let noticeTimer = null;
export function notice(message, kind = "refused", seconds = 8) {
  const box = $("#notice");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (seconds) noticeTimer = setTimeout(() => { box.hidden = true; }, seconds * 1000);
}

export function stepStatus(name) {
  const step = state.live && state.live.steps[name];
  return step ? step.status : "pending";
}

export function quote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\"'\"'")}'`;
}

export function runCommand(extra = []) {
  const registry = state.registry ? ["--registry", state.registry] : [];
  return ["runner", "pipeline", "run", state.pipeline || "PIPELINE", ...extra, ...registry].map(quote).join(" ");
}
