// Keyboard bindings of a labelling page, and the "?" overlay listing them. The overlay is built
// from the same table the dispatcher uses, so the help can never disagree with the keys.
//
// A binding: {key: "ArrowLeft" | "e" | "?", shift?: bool, label: "Shift+←", help: "...",
//             inInputs?: bool, run(event)}. Letters match case-insensitively; "shift" (when
// given) must match. Keys typed into a text field go to the field unless inInputs is set.

function isTyping(target) {
  if (!target) return false;
  const tag = target.tagName;
  return tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable ||
    (tag === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(target.type));
}

export function installKeys(bindings, helpEl) {
  const help = { key: "?", label: "?", help: "show or hide all keys", run: () => toggleHelp(helpEl) };
  const all = [...bindings, help];
  renderHelp(helpEl, all);
  window.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const typing = isTyping(ev.target);
    if (ev.key === "Escape" && !helpEl.hidden) { helpEl.hidden = true; ev.preventDefault(); return; }
    for (const b of all) {
      if (!matches(b, ev)) continue;
      if (typing && !b.inInputs) return;
      if (b.when && !b.when(ev)) continue;
      ev.preventDefault();
      b.run(ev);
      return;
    }
  });
  return all;
}

function matches(binding, ev) {
  const keys = Array.isArray(binding.key) ? binding.key : [binding.key];
  const hit = keys.some((k) => k.length === 1 ? ev.key.toLowerCase() === k.toLowerCase() : ev.key === k);
  if (!hit) return false;
  if (binding.shift !== undefined && binding.shift !== ev.shiftKey) return false;
  return true;
}

export function toggleHelp(helpEl) {
  helpEl.hidden = !helpEl.hidden;
}

function renderHelp(helpEl, bindings) {
  const table = document.createElement("table");
  table.className = "keys";
  const seen = new Set();
  for (const b of bindings) {
    if (!b.help || seen.has(b.label + b.help)) continue;
    seen.add(b.label + b.help);
    const tr = document.createElement("tr");
    const k = document.createElement("td");
    const kbd = document.createElement("kbd");
    kbd.textContent = b.label;
    k.append(kbd);
    const d = document.createElement("td");
    d.textContent = b.help;
    tr.append(k, d);
    table.append(tr);
  }
  const title = document.createElement("h2");
  title.textContent = "Keyboard";
  const close = document.createElement("p");
  close.className = "muted";
  close.textContent = "Esc or ? closes this.";
  helpEl.replaceChildren(title, table, close);
}

// ↑ / ↓ round a list: the index `step` places away from `index` among `length` (> 0) entries.
export function cycle(index, step, length) {
  return (index + step + length) % length;
}
