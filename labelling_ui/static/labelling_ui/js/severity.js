// Severity votes: for each repetition (looped on the player), a vote 0..3 per error type of
// the exercise. Number keys vote and move on; Tab / ↑ / ↓ move between error types; [ and ]
// between repetitions; Enter submits the whole clip once every vote is given.

import { newKey } from "./api.js";
import { errorTypeItem } from "./error_types.js";
import { cycle, installKeys } from "./keys.js";
import { labellingPage, startLabelling } from "./labelling_page.js";

const repsEl = document.getElementById("reps");
const typesEl = document.getElementById("error-types");
const progressEl = document.getElementById("vote-progress");
const sourceEl = document.getElementById("rep-source");

let reps = [];
let types = [];
let votes = {}; // repetition id -> {error type id -> 0..3}
let repIdx = 0;
let etIdx = 0;

const { page, stage, session } = labellingPage({
  onLoad: (ctx, draft) => {
    reps = ctx.repetitions || [];
    types = ctx.error_types || [];
    votes = (draft && draft.votes) || {};
    repIdx = draft && Number.isInteger(draft.rep) ? Math.min(draft.rep, Math.max(reps.length - 1, 0)) : 0;
    etIdx = draft && Number.isInteger(draft.et) ? Math.min(draft.et, Math.max(types.length - 1, 0)) : 0;
    sourceEl.textContent = ctx.repetition_source === "even"
      ? "Repetitions: evenly spaced (no end-point consensus yet)."
      : `Repetitions: from end-point ${ctx.repetition_source.replace("_", " ")}.`;
    buildTypes();
    selectRep(repIdx, { play: true });
  },
});

function buildTypes() {
  typesEl.replaceChildren(...types.map((t, i) => {
    const li = errorTypeItem(t, i);
    li.dataset.errorType = String(t.id);
    const row = document.createElement("div");
    row.className = "votes";
    for (let v = 0; v <= 3; v++) {
      const b = document.createElement("span");
      b.textContent = String(v);
      b.dataset.value = String(v);
      b.addEventListener("click", () => { etIdx = i; vote(v); });
      row.append(b);
    }
    li.append(row);
    li.addEventListener("click", () => { etIdx = i; render(); });
    return li;
  }));
}

function repVotes(rep) {
  return votes[rep.id] || (votes[rep.id] = {});
}

function render() {
  const rep = reps[repIdx];
  repsEl.replaceChildren(...reps.map((r, i) => {
    const s = document.createElement("span");
    s.textContent = `${i + 1}`;
    s.title = `frames ${r.start}–${r.end}`;
    const done = types.every((t) => votes[r.id] && votes[r.id][t.id] !== undefined);
    s.className = (i === repIdx ? "active " : "") + (done ? "done" : "");
    return s;
  }));
  const mine = rep ? repVotes(rep) : {};
  typesEl.querySelectorAll("li").forEach((li, i) => {
    li.classList.toggle("selected", i === etIdx);
    const value = mine[types[i].id];
    li.querySelectorAll(".votes span").forEach((s) => s.classList.toggle("on", Number(s.dataset.value) === value));
    li.dataset.vote = value === undefined ? "" : String(value);
  });
  const selected = typesEl.querySelectorAll("li")[etIdx];
  if (selected) selected.scrollIntoView({ block: "nearest" });
  const total = reps.length * types.length;
  progressEl.textContent = `${countVotes()} / ${total} votes · repetition ${repIdx + 1} of ${reps.length}` +
    (rep ? ` (frames ${rep.start}–${rep.end})` : "");
  if (stage.timeline) stage.timeline.set({ spans: reps.map((r, i) => ({ start: r.start, end: r.end, active: i === repIdx })) });
}

function countVotes() {
  return reps.reduce((n, r) => n + types.filter((t) => votes[r.id] && votes[r.id][t.id] !== undefined).length, 0);
}

function selectRep(i, { play = false } = {}) {
  if (!reps.length) { render(); return; }
  repIdx = Math.min(Math.max(i, 0), reps.length - 1);
  const rep = reps[repIdx];
  stage.player.setLoop([rep.start, rep.end]);
  stage.player.setFrame(rep.start);
  if (play) stage.player.play();
  save();
  render();
}

function save() {
  session.saveDraft({ votes, rep: repIdx, et: etIdx });
}

function vote(value) {
  const rep = reps[repIdx];
  if (!rep || !types.length) return;
  repVotes(rep)[types[etIdx].id] = value;
  session.status(`Repetition ${repIdx + 1}, ${types[etIdx].description || types[etIdx].code}: ${value}`);
  if (etIdx < types.length - 1) {
    etIdx += 1;
  } else if (repIdx < reps.length - 1) {
    etIdx = 0;
    selectRep(repIdx + 1, { play: true });
    return;
  }
  save();
  render();
}

function moveType(d) {
  if (!types.length) return;
  etIdx = cycle(etIdx, d, types.length);
  save();
  render();
}

async function submit() {
  if (!session.item) return;
  for (let r = 0; r < reps.length; r++) {
    for (let t = 0; t < types.length; t++) {
      if (!votes[reps[r].id] || votes[reps[r].id][types[t].id] === undefined) {
        etIdx = t;
        selectRep(r, { play: true });
        session.status(`Vote "${types[t].description || types[t].code}" of repetition ${r + 1} first (${countVotes()} of ${reps.length * types.length} given).`, "error");
        return;
      }
    }
  }
  const list = [];
  for (const r of reps) for (const t of types) list.push({ repetition: r.id, error_type: t.id, value: votes[r.id][t.id] });
  await session.submit([
    { url: "/api/votes/submit/", body: { client_key: newKey(), votes: list } },
    { url: page.urls.complete, body: { assignment: session.item.assignment } },
  ]);
}

installKeys([
  ...["0", "1", "2", "3"].map((k) => ({ key: k, label: k, help: k === "0" ? "vote 0 (no error) … 3 (severe) for the selected error type" : "", run: () => vote(Number(k)) })),
  { key: "Tab", shift: false, label: "Tab / ↓", help: "next error type", run: () => moveType(1) },
  { key: "ArrowDown", label: "↓", help: "", run: () => moveType(1) },
  { key: "Tab", shift: true, label: "Shift+Tab / ↑", help: "previous error type", run: () => moveType(-1) },
  { key: "ArrowUp", label: "↑", help: "", run: () => moveType(-1) },
  { key: ["]", "PageDown"], label: "] / PgDn", help: "next repetition", run: () => selectRep(repIdx + 1, { play: true }) },
  { key: ["[", "PageUp"], label: "[ / PgUp", help: "previous repetition", run: () => selectRep(repIdx - 1, { play: true }) },
  ...stage.frameBindings(),
  { key: "Enter", label: "Enter", help: "submit every vote of the clip and load the next", run: submit },
  { key: "s", shift: true, label: "Shift+S", help: "skip this clip (it goes to someone else)", run: () => session.skip() },
], document.getElementById("help"));

startLabelling(session, submit);
