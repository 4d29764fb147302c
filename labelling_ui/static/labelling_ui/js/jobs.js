// The job launch form, built from GET /api/job-kinds/ (kinds, their parameters, types,
// defaults, choices and help). Only the kinds this user's role may launch are offered; the
// server checks the role again on launch. Values are sent as strings; the kind's serializer
// parses them exactly as it does for `manage.py run_job --param`.

import { api } from "./api.js";

const launchable = new Set(JSON.parse(document.getElementById("launchable").textContent));
const kindSelect = document.getElementById("job-kind");
const paramsBox = document.getElementById("job-params");
const datasetField = document.getElementById("dataset-field");
const datasetSelect = document.getElementById("job-dataset");
const description = document.getElementById("kind-description");
let kinds = [];

function field(name, spec) {
  const label = document.createElement("label");
  label.textContent = name + (spec.required ? " *" : "");
  let input;
  if (spec.choices && spec.choices.length) {
    input = document.createElement("select");
    if (!spec.required) input.append(new Option(`default (${spec.default ?? "none"})`, ""));
    for (const c of spec.choices) input.append(new Option(String(c), String(c)));
  } else if (spec.type === "boolean") {
    input = document.createElement("select");
    input.append(new Option(`default (${spec.default})`, ""), new Option("true", "true"), new Option("false", "false"));
  } else {
    input = document.createElement("input");
    input.type = ["integer", "float", "decimal"].includes(spec.type) ? "number" : "text";
    if (input.type === "number") input.step = "any";
    if (spec.default !== null && spec.default !== undefined && spec.default !== "") {
      input.placeholder = typeof spec.default === "object" ? JSON.stringify(spec.default) : String(spec.default);
    }
    input.required = !!spec.required;
  }
  input.name = `param_${name}`;
  input.dataset.param = name;
  label.append(input);
  if (spec.help) {
    const help = document.createElement("small");
    help.className = "muted";
    help.textContent = spec.help;
    label.append(help);
  }
  return label;
}

function render() {
  const kind = kinds.find((k) => k.name === kindSelect.value);
  paramsBox.querySelectorAll("label").forEach((el) => el.remove());
  if (!kind) return;
  description.textContent = kind.description;
  datasetField.hidden = !kind.needs_dataset;
  datasetSelect.disabled = !kind.needs_dataset;
  const names = Object.keys(kind.params);
  for (const name of names) paramsBox.append(field(name, kind.params[name]));
  paramsBox.hidden = names.length === 0;
}

async function init() {
  kinds = (await api("GET", "/api/job-kinds/")).filter((k) => launchable.has(k.name));
  kindSelect.replaceChildren(new Option("Choose a kind…", ""), ...kinds.map((k) => new Option(`${k.name} (${k.queue})`, k.name)));
  const wanted = new URLSearchParams(location.search).get("launch");
  if (wanted && kinds.some((k) => k.name === wanted)) kindSelect.value = wanted;
  const ds = new URLSearchParams(location.search).get("dataset");
  if (ds) datasetSelect.value = ds;
  render();
}

kindSelect.addEventListener("change", render);
init().catch((exc) => { description.textContent = `Could not load the job kinds: ${exc.message}`; });
