// What every labelling page shares around its own panel: the page data, the stage, and the
// session that leases items and shows either the labeller or the "nothing left" card.
//
//   const { page, stage, session } = labellingPage({ onLoad: (ctx, draft) => { ... } });
//   ... the page's own state, keys and panel ...
//   startLabelling(session, submit);

import { LabellingSession } from "./session.js";
import { Stage } from "./stage.js";

export function labellingPage({ onLoad }) {
  const page = JSON.parse(document.getElementById("page-data").textContent);
  const root = document.getElementById("labeller");
  const empty = document.getElementById("empty");
  const stage = new Stage(document);
  const session = new LabellingSession({
    page,
    statusEl: document.getElementById("status"),
    itemEl: document.getElementById("item"),
    onEmpty: () => { root.hidden = true; empty.hidden = false; },
    onLoad: (ctx, pose, draft) => {
      empty.hidden = true;
      root.hidden = false;
      stage.load(ctx, pose);
      return onLoad(ctx, draft);
    },
  });
  return { page, stage, session };
}

// Last, once the page's keys are installed: wire the submit button and load the first item.
export function startLabelling(session, submit) {
  document.getElementById("submit").addEventListener("click", submit);
  session.start().catch((exc) => session.status(`Could not load work: ${exc.message}`, "error"));
}
