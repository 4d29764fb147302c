// Error segments (Fitness-AQA style): select an error type, S at its first frame, E at its
// last; the interval is added to the list, where its bounds can be edited or it can be deleted.

import { newKey } from "./api.js";
import { errorTypeItem } from "./error_types.js";
import { cycle, installKeys } from "./keys.js";
import { labellingPage, startLabelling } from "./labelling_page.js";

const typesEl = document.getElementById("error-types");
const listEl = document.getElementById("segment-rows");
const pendingEl = document.getElementById("pending");
const COLORS = ["#ef476f", "#ffd166", "#06d6a0", "#118ab2", "#b388eb", "#f78c6b", "#83d483", "#e76f51"];

let types = [];
let segments = []; // {error_type, start_frame, end_frame}
let etIdx = 0;
let pendingStart = null;
let selectedSeg = -1;

const { stage, session } = labellingPage({
  onLoad: (ctx, draft) => {
    types = ctx.error_types || [];
    segments = draft ? (draft.segments || []) : (ctx.mine || []).map((s) => ({ ...s }));
    pendingStart = draft && Number.isInteger(draft.pendingStart) ? draft.pendingStart : null;
    etIdx = draft && Number.isInteger(draft.et) ? Math.min(draft.et, Math.max(types.length - 1, 0)) : 0;
    selectedSeg = -1;
    render();
  },
});

const color = (etId) => COLORS[Math.max(0, types.findIndex((t) => t.id === etId)) % COLORS.length];
const typeCode = (etId) => {
  const t = types.find((x) => x.id === etId);
  return t ? (t.description || t.code) : "?";
};

function save() {
  session.saveDraft({ segments, pendingStart, et: etIdx });
}

function frameInput(seg, field) {
  const input = document.createElement("input");
  input.type = "number";
  input.min = "0";
  input.max = String(stage.frameCount - 1);
  input.value = String(seg[field]);
  input.setAttribute("aria-label", field.replace("_", " "));
  input.addEventListener("change", () => {
    const v = Math.min(Math.max(parseInt(input.value, 10) || 0, 0), stage.frameCount - 1);
    seg[field] = v;
    if (seg.end_frame < seg.start_frame) [seg.start_frame, seg.end_frame] = [seg.end_frame, seg.start_frame];
    save();
    render();
  });
  return input;
}

function render() {
  typesEl.replaceChildren(...types.map((t, i) => {
    const li = errorTypeItem(t, i);
    li.className = i === etIdx ? "selected" : "";
    li.style.borderLeft = `6px solid ${COLORS[i % COLORS.length]}`;
    li.addEventListener("click", () => { etIdx = i; save(); render(); });
    return li;
  }));
  segments.sort((a, b) => a.start_frame - b.start_frame || a.end_frame - b.end_frame);
  listEl.replaceChildren(...segments.map((s, i) => {
    const tr = document.createElement("tr");
    if (i === selectedSeg) tr.className = "selected";
    const c = document.createElement("td");
    const go = document.createElement("button");
    go.type = "button";
    go.className = "link";
    go.textContent = typeCode(s.error_type);
    go.title = (types.find((t) => t.id === s.error_type) || {}).code || "";
    go.style.color = color(s.error_type);
    go.addEventListener("click", () => { selectedSeg = i; stage.player.setFrame(s.start_frame); render(); });
    c.append(go);
    const a = document.createElement("td");
    a.append(frameInput(s, "start_frame"));
    const b = document.createElement("td");
    b.append(frameInput(s, "end_frame"));
    const d = document.createElement("td");
    const del = document.createElement("button");
    del.type = "button";
    del.className = "danger";
    del.textContent = "✕";
    del.title = "Delete this segment";
    del.setAttribute("aria-label", "Delete this segment");
    del.addEventListener("click", () => remove(i));
    d.append(del);
    tr.append(c, a, b, d);
    return tr;
  }));
  pendingEl.textContent = pendingStart === null
    ? "Press S at the first frame of an error."
    : `${types[etIdx] ? types[etIdx].code : ""} starts at frame ${pendingStart}; press E at its last frame.`;
  if (stage.timeline) {
    stage.timeline.set({
      segments: segments.map((s, i) => ({ start: s.start_frame, end: s.end_frame, color: color(s.error_type), selected: i === selectedSeg })),
      pending: pendingStart,
    });
  }
}

function setStart() {
  if (!types.length) return;
  pendingStart = stage.frame;
  save();
  render();
}

function setEnd() {
  if (!types.length) return;
  if (pendingStart === null) {
    session.status("Press S at the first frame first.", "error");
    return;
  }
  const a = Math.min(pendingStart, stage.frame), b = Math.max(pendingStart, stage.frame);
  const seg = { error_type: types[etIdx].id, start_frame: a, end_frame: b };
  if (segments.some((s) => s.error_type === seg.error_type && s.start_frame === a && s.end_frame === b)) {
    session.status("That segment is already in the list.", "error");
  } else {
    segments.push(seg);
    session.status(`${types[etIdx].code}: frames ${a}–${b}`);
  }
  pendingStart = null;
  save();
  render();
  selectedSeg = segments.indexOf(seg);
  render();
}

function remove(i) {
  if (i < 0 || i >= segments.length) return;
  const [s] = segments.splice(i, 1);
  selectedSeg = -1;
  session.status(`Deleted ${typeCode(s.error_type)} ${s.start_frame}–${s.end_frame}.`);
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
  const list = segments.map((s) => ({ error_type: s.error_type, start_frame: s.start_frame, end_frame: s.end_frame }));
  await session.submit([{ url: `/api/clips/${session.item.clip.id}/segments/submit/`, body: { client_key: newKey(), segments: list } }]);
}

installKeys([
  ...stage.frameBindings(),
  { key: "s", shift: false, label: "S", help: "start a segment of the selected error type here", run: setStart },
  { key: "e", label: "E", help: "end the segment here and add it to the list", run: setEnd },
  { key: "ArrowDown", label: "↓", help: "next error type", run: () => moveType(1) },
  { key: "ArrowUp", label: "↑", help: "previous error type", run: () => moveType(-1) },
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ key: String(n), label: String(n), help: n === 1 ? "select error type 1…9" : "",
    run: () => { if (n <= types.length) { etIdx = n - 1; save(); render(); } } })),
  { key: ["Delete", "Backspace"], label: "Delete", help: "delete the selected segment", run: () => remove(selectedSeg) },
  { key: "Escape", label: "Esc", help: "drop a started segment", run: () => { pendingStart = null; save(); render(); } },
  { key: "Enter", label: "Enter", help: "submit the list (empty = no error seen) and load the next clip", run: submit },
  { key: "s", shift: true, label: "Shift+S", help: "skip this clip (it goes to someone else)", run: () => session.skip() },
], document.getElementById("help"));

startLabelling(session, submit);
