// Timestamped coaching feedback (QEVD style): N opens the line editor at the current frame,
// Enter adds the line there; lines are listed (editable, deletable) and ticked on the timeline.
// Text is plain text: it is only ever put on the page with textContent / input.value.

import { newKey } from "./api.js";
import { installKeys } from "./keys.js";
import { labellingPage, startLabelling } from "./labelling_page.js";

const input = document.getElementById("note-text");
const atEl = document.getElementById("note-frame");
const listEl = document.getElementById("notes");
let notes = []; // {frame, text}
let noteFrame = null;

const { stage, session } = labellingPage({
  onLoad: (ctx, draft) => {
    notes = draft ? (draft.notes || []) : (ctx.mine || []).map((n) => ({ ...n }));
    input.value = draft && draft.typing ? draft.typing : "";
    noteFrame = null;
    render();
  },
});

stage.onFrame((f) => { if (noteFrame === null) atEl.textContent = String(f); });

function save() {
  session.saveDraft({ notes, typing: input.value });
}

function render() {
  notes.sort((a, b) => a.frame - b.frame);
  listEl.replaceChildren(...notes.map((n, i) => {
    const li = document.createElement("li");
    const go = document.createElement("button");
    go.type = "button";
    go.className = "link";
    go.textContent = `frame ${n.frame} (${(n.frame / stage.player.fps).toFixed(2)} s)`;
    go.addEventListener("click", () => stage.player.setFrame(n.frame));
    const text = document.createElement("input");
    text.type = "text";
    text.value = n.text;
    text.maxLength = 2000;
    text.setAttribute("aria-label", `feedback at frame ${n.frame}`);
    text.addEventListener("change", () => { n.text = text.value; save(); });
    const del = document.createElement("button");
    del.type = "button";
    del.className = "danger";
    del.textContent = "Delete";
    del.addEventListener("click", () => { notes.splice(i, 1); save(); render(); });
    li.append(go, text, del);
    return li;
  }));
  if (stage.timeline) stage.timeline.set({ ticks: notes.map((n) => n.frame) });
}

function startNote() {
  noteFrame = stage.frame;
  if (stage.player.playing) stage.player.pause();
  atEl.textContent = String(noteFrame);
  input.focus();
}

function addNote() {
  const text = input.value.trim();
  if (!text) return;
  const frame = noteFrame === null ? stage.frame : noteFrame;
  notes.push({ frame, text });
  input.value = "";
  noteFrame = null;
  input.blur();
  save();
  render();
  session.status(`Feedback added at frame ${frame}.`);
}

input.addEventListener("focus", () => { if (noteFrame === null) noteFrame = stage.frame; });
input.addEventListener("input", save);

async function submit() {
  if (!session.item) return;
  const list = notes.filter((n) => n.text.trim()).map((n) => ({ frame: n.frame, text: n.text.trim() }));
  await session.submit([{ url: `/api/clips/${session.item.clip.id}/feedback/submit/`, body: { client_key: newKey(), notes: list } }]);
}

installKeys([
  ...stage.frameBindings(),
  { key: "n", label: "N", help: "write a coaching line at the current frame", run: startNote },
  { key: "Enter", inInputs: true, label: "Enter (in the line)", help: "add the line at its frame",
    when: (ev) => ev.target === input, run: addNote },
  { key: "Escape", inInputs: true, label: "Esc (in the line)", help: "leave the line editor",
    when: (ev) => ev.target === input, run: () => { noteFrame = null; input.blur(); } },
  { key: "Enter", label: "Enter", help: "submit every line and load the next clip",
    when: (ev) => ev.target !== input && !(ev.target && ev.target.tagName === "INPUT"), run: submit },
  { key: "s", shift: true, label: "Shift+S", help: "skip this clip (it goes to someone else)", run: () => session.skip() },
], document.getElementById("help"));

document.getElementById("add-note").addEventListener("click", addNote);
startLabelling(session, submit);
