// FLEX checklist (stage 1) and review (stage 2): the action's phases -> rows -> slots with
// their weights, the live score, and the curated feedback of every ticked error type.
//
// The score is FLEX Eq. 1 exactly as the kg scoring API computes it:
//   score = (1 - sum of the ticked slots' weights / action total) x 100, rounded to 2 decimals,
// with a slot counted once however it is named. Weights and the total come from the same
// compiled graph the API uses.
//
// Review: the three stage-1 sets are shown side by side (A, B, C) with the proposal (the
// per-slot majority) pre-ticked. Enter approves it when nothing was changed, or sends the
// corrected set.

import { newKey } from "./api.js";
import { cycle, installKeys } from "./keys.js";
import { labellingPage, startLabelling } from "./labelling_page.js";

const listEl = document.getElementById("checklist");
const scoreEl = document.getElementById("score");
const penaltyEl = document.getElementById("penalty");
const feedbackEl = document.getElementById("feedback");
const submitBtn = document.getElementById("submit");

let action = null;
let slots = [];        // flat, in slot order
let ticked = new Set();
let idx = 0;
let proposal = null;   // review only: Set of slot keys

export function flexScore(weights, total) {
  // weights: the weights of the distinct ticked slots
  const penalty = weights.reduce((a, b) => a + b, 0);
  return { penalty, total, score: Math.round((1 - penalty / total) * 100 * 100) / 100 };
}

const { page, stage, session } = labellingPage({
  onLoad: (ctx, draft) => {
    action = ctx.flex.action;
    slots = action.phases.flatMap((p) => p.rows.flatMap((r) => r.slots));
    proposal = review && ctx.flex.review.proposal ? new Set(ctx.flex.review.proposal.slots) : null;
    ticked = new Set(draft && draft.ticked ? draft.ticked : (proposal ? [...proposal] : []));
    idx = draft && Number.isInteger(draft.idx) ? Math.min(draft.idx, slots.length - 1) : 0;
    document.getElementById("action-name").textContent = `${action.code} ${action.name}`;
    build(ctx);
    render();
  },
});
const review = page.kind === "flex_stage2";

function build(ctx) {
  const sets = review ? ctx.flex.review.stage1 : [];
  const votesFor = (key) => sets.filter((s) => s.slots.includes(key)).map((s) => s.label);
  if (review) {
    const head = document.getElementById("stage1-sets");
    head.replaceChildren(...sets.map((s) => {
      const li = document.createElement("li");
      li.textContent = `${s.label}: ${s.slots.length} slot(s), score ${s.score.toFixed(2)}`;
      return li;
    }), ...(ctx.flex.review.proposal ? [(() => {
      const li = document.createElement("li");
      li.className = "proposal";
      li.textContent = `Proposal (majority): ${ctx.flex.review.proposal.slots.length} slot(s), score ${ctx.flex.review.proposal.score.toFixed(2)}`;
      return li;
    })()] : []));
  }
  listEl.replaceChildren(...action.phases.map((phase) => {
    const section = document.createElement("section");
    section.className = "phase";
    const h = document.createElement("h3");
    h.textContent = phase.name;
    section.append(h);
    for (const row of phase.rows) {
      const div = document.createElement("div");
      div.className = "row";
      const ks = document.createElement("div");
      ks.className = "keystep";
      ks.textContent = row.keysteps.map((k) => `${k.code} ${k.description}`).join(" / ");
      div.append(ks);
      for (const slot of row.slots) {
        const label = document.createElement("label");
        label.dataset.slot = slot.key;
        const box = document.createElement("input");
        box.type = "checkbox";
        box.tabIndex = -1;
        box.value = slot.key;
        box.addEventListener("change", () => {
          idx = slots.indexOf(slot);
          if (box.checked) ticked.add(slot.key); else ticked.delete(slot.key);
          changed();
        });
        const text = document.createElement("span");
        text.textContent = `${slot.error_type} ${slot.description}`;
        label.append(box, text);
        if (review) {
          const others = document.createElement("span");
          others.className = "others";
          const v = votesFor(slot.key);
          others.textContent = v.length ? v.join(" ") : "·";
          others.title = "stage-1 sets that marked this slot";
          label.append(others);
        }
        const w = document.createElement("span");
        w.className = "weight";
        w.textContent = `w ${slot.weight}`;
        label.append(w);
        div.append(label);
      }
      section.append(div);
    }
    return section;
  }));
}

function current() {
  return flexScore(slots.filter((s) => ticked.has(s.key)).map((s) => s.weight), action.total);
}

function render() {
  const labels = listEl.querySelectorAll("label[data-slot]");
  labels.forEach((label, i) => {
    const key = label.dataset.slot;
    label.querySelector("input").checked = ticked.has(key);
    label.classList.toggle("selected", i === idx);
  });
  if (labels[idx]) labels[idx].scrollIntoView({ block: "nearest" });
  const s = current();
  scoreEl.textContent = s.score.toFixed(2);
  scoreEl.dataset.score = String(s.score);
  penaltyEl.textContent = `penalty ${s.penalty} of ${s.total}`;
  const codes = [];
  for (const slot of slots) if (ticked.has(slot.key) && !codes.includes(slot.error_type)) codes.push(slot.error_type);
  feedbackEl.replaceChildren(...codes.map((code) => {
    const li = document.createElement("li");
    const b = document.createElement("strong");
    b.textContent = `${code}: `;
    const t = document.createElement("span");
    t.textContent = action.feedback[code] || "(no feedback text written yet)";
    li.append(b, t);
    return li;
  }));
  if (review) submitBtn.firstChild.textContent = sameAsProposal() ? "Approve " : "Send correction ";
}

function sameAsProposal() {
  return proposal && proposal.size === ticked.size && [...proposal].every((k) => ticked.has(k));
}

function changed() {
  session.saveDraft({ ticked: [...ticked], idx });
  render();
}

function toggle() {
  const slot = slots[idx];
  if (!slot) return;
  if (ticked.has(slot.key)) ticked.delete(slot.key); else ticked.add(slot.key);
  changed();
}

function move(d) {
  if (!slots.length) return;
  idx = cycle(idx, d, slots.length);
  changed();
}

async function submit() {
  if (!session.item) return;
  const keys = slots.filter((s) => ticked.has(s.key)).map((s) => s.key);
  const clip = session.item.clip.id;
  if (!review) {
    await session.submit([{ url: `/api/kg/samples/${clip}/stage1/`, body: { client_key: newKey(), slots: keys } }]);
  } else if (sameAsProposal()) {
    await session.submit([{ url: `/api/kg/samples/${clip}/stage2/`, body: { client_key: newKey(), approve: true } }]);
  } else {
    await session.submit([{ url: `/api/kg/samples/${clip}/stage2/`, body: { client_key: newKey(), approve: false, slots: keys } }]);
  }
}

const bindings = [
  { key: "ArrowDown", label: "↓", help: "next slot", run: () => move(1) },
  { key: "ArrowUp", label: "↑", help: "previous slot", run: () => move(-1) },
  { key: [" ", "x"], label: "Space / X", help: "tick or untick the selected slot", run: toggle },
  ...stage.frameBindings({ space: false }),
  { key: "p", label: "P", help: "play / pause", run: () => stage.player && stage.player.toggle() },
  { key: "Enter", label: "Enter", help: review ? "approve the proposal (or send your correction) and load the next" : "submit the ticked slots and load the next", run: submit },
  { key: "s", shift: true, label: "Shift+S", help: "skip this sample (it goes to someone else)", run: () => session.skip() },
];
if (review) {
  bindings.splice(3, 0, { key: "a", label: "A", help: "back to the proposal (undo corrections)",
    run: () => { ticked = new Set(proposal || []); changed(); } });
}
installKeys(bindings, document.getElementById("help"));

startLabelling(session, submit);
