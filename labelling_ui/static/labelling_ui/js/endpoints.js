// Repetition end points: mark the last frame of every repetition with E, submit with Enter.
// Marks are the frame indices shown in the frame counter, nothing else.

import { newKey } from "./api.js";
import { installKeys } from "./keys.js";
import { labellingPage, startLabelling } from "./labelling_page.js";

const marksEl = document.getElementById("marks");
const countEl = document.getElementById("mark-count");
let marks = [];
let confirmEmptyUntil = 0;

const { stage, session } = labellingPage({
  onLoad: (ctx, draft) => {
    marks = draft && Array.isArray(draft.marks) ? draft.marks.slice() : [];
    render();
  },
});

function render() {
  marks.sort((a, b) => a - b);
  marksEl.replaceChildren(...marks.map((f, i) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link";
    b.textContent = `#${i + 1} · frame ${f}`;
    b.dataset.frame = String(f);
    b.addEventListener("click", () => stage.player.setFrame(f));
    li.append(b);
    return li;
  }));
  countEl.textContent = String(marks.length);
  if (stage.timeline) stage.timeline.set({ marks });
}

function changed() {
  render();
  session.saveDraft({ marks });
}

function markEnd() {
  const f = stage.frame;
  if (marks.includes(f)) {
    session.status(`Frame ${f} is already marked.`);
    return;
  }
  marks.push(f);
  changed();
  session.status(`Marked the end at frame ${f}.`);
}

function removeNearest() {
  if (!marks.length) return;
  const f = stage.frame;
  let best = 0;
  marks.forEach((m, i) => { if (Math.abs(m - f) < Math.abs(marks[best] - f)) best = i; });
  const removed = marks.splice(best, 1)[0];
  changed();
  session.status(`Removed the mark at frame ${removed}.`);
}

async function submit() {
  if (!session.item) return;
  if (!marks.length && Date.now() > confirmEmptyUntil) {
    confirmEmptyUntil = Date.now() + 4000;
    session.status("No ends marked. Press Enter again to submit a clip without repetitions.", "error");
    return;
  }
  const frames = marks.slice().sort((a, b) => a - b);
  await session.submit([{ url: `/api/clips/${session.item.clip.id}/end-points/submit/`,
                          body: { client_key: newKey(), frames } }]);
}

installKeys([
  ...stage.frameBindings(),
  { key: "e", label: "E", help: "mark a repetition end at the current frame", run: markEnd },
  { key: "Backspace", label: "Backspace", help: "remove the mark nearest to the current frame", run: removeNearest },
  { key: "Enter", label: "Enter", help: "submit and load the next clip", run: submit },
  { key: "s", shift: true, label: "Shift+S", help: "skip this clip (it goes to someone else)", run: () => session.skip() },
], document.getElementById("help"));

startLabelling(session, submit);
