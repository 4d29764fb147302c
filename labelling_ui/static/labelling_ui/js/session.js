// One labelling session: take an item from the work queue, load what its page shows, keep the
// annotator's work as a draft in localStorage, and submit it so that nothing is ever lost.
//
// - The draft is saved on every change, keyed by user, kind and dataset, and tagged with the
//   assignment it belongs to. After a reload, "next" returns the same lease (idempotent), and
//   the draft comes back.
// - A submission is written to localStorage ("pending") before it is sent, with its client
//   key. If the answer is lost (dropped connection, closed tab), the very same request is sent
//   again, now or after the reload; the server stores it once and replays its first answer.
// - While the page is open the lease is renewed every few minutes, so it only expires when the
//   item was really abandoned.

import { api, ApiError, fetchBinary, NetworkError, postWithRetry } from "./api.js";
import { parseNpy } from "./npy.js";
import { recordReady } from "./perf.js";

const RENEW_MS = 4 * 60 * 1000;

export class LabellingSession {
  constructor({ page, onLoad, onEmpty = () => {}, statusEl, itemEl = null }) {
    this.page = page;
    this.onLoad = onLoad;
    this.onEmpty = onEmpty;
    this.statusEl = statusEl;
    this.itemEl = itemEl;
    this.item = null;
    this.ctx = null;
    this.busy = false;
  }

  storageKey(name) {
    const p = this.page;
    return `formlab:v1:${p.user}:${p.kind}:${p.dataset.id}:${name}`;
  }

  read(name) {
    try {
      return JSON.parse(localStorage.getItem(this.storageKey(name)) || "null");
    } catch (exc) {
      return null;
    }
  }

  write(name, value) {
    if (value === null) localStorage.removeItem(this.storageKey(name));
    else localStorage.setItem(this.storageKey(name), JSON.stringify(value));
  }

  status(text, kind = "info") {
    if (!this.statusEl) return;
    this.statusEl.textContent = text;
    this.statusEl.dataset.kind = kind;
  }

  async start() {
    const flushed = await this.flushPending();
    // The page arrives with its first item already leased, unless a resent submission just
    // closed that very item.
    const initial = flushed ? null : this.page.initial;
    await this.loadNext(initial);
    this.renewTimer = setInterval(() => this.renew(), RENEW_MS);
  }

  async renew() {
    if (!this.item || this.busy) return;
    try {
      const data = await api("POST", this.page.urls.next, { dataset: this.page.dataset.id, kind: this.page.kind });
      if (data.item && data.item.assignment !== this.item.assignment) {
        this.status("Your lease on this item ran out; here is a new one.", "error");
        await this.loadNext();
      }
    } catch (exc) {
      // Offline for a moment: the next renewal or the submission will tell.
    }
  }

  async flushPending() {
    const pending = this.read("pending");
    if (!pending) return false;
    this.busy = true;
    this.status("Sending your last submission again…");
    try {
      await this.runSteps(pending.steps);
      this.status("Your last submission is stored.", "ok");
    } catch (exc) {
      this.reportSubmitError(exc);
    } finally {
      this.write("pending", null);
      const draft = this.read("draft");
      if (draft && draft.assignment === pending.assignment) this.write("draft", null);
      this.busy = false;
    }
    return true;
  }

  async loadNext(initial = null) {
    this.item = null;
    const data = initial || await api("POST", this.page.urls.next, { dataset: this.page.dataset.id, kind: this.page.kind });
    if (!data.item) {
      this.onEmpty();
      recordReady();
      return null;
    }
    const item = data.item;
    const url = this.page.urls.context.replace(/\/0\/$/, `/${item.assignment}/`);
    const [ctx, pose] = await Promise.all([
      initial ? Promise.resolve(initial.context) : api("GET", url),
      item.clip.has_pose ? fetchBinary(`/api/clips/${item.clip.id}/pose/`).then(parseNpy) : Promise.resolve(null),
    ]);
    let draft = this.read("draft");
    if (draft && draft.assignment !== item.assignment) {
      this.write("draft", null);
      draft = null;
    }
    this.item = item;
    this.ctx = ctx;
    if (this.itemEl) {
      this.itemEl.textContent = `${ctx.dataset.name} · clip ${ctx.clip.external_id} · ${ctx.clip.exercise.name}`;
    }
    await this.onLoad(ctx, pose, draft ? draft.data : null);
    recordReady();
    return item;
  }

  saveDraft(data) {
    if (!this.item) return;
    this.write("draft", { assignment: this.item.assignment, clip: this.item.clip.id, data, saved: Date.now() });
  }

  // steps: [{url, body}] sent one after the other; each body carries its client key.
  async submit(steps) {
    if (!this.item || this.busy) return false;
    this.busy = true;
    const pending = { assignment: this.item.assignment, steps };
    this.write("pending", pending);
    this.status("Saving…");
    try {
      await this.runSteps(steps);
    } catch (exc) {
      this.write("pending", null);
      this.busy = false;
      if (exc instanceof ApiError && exc.code === "lease_expired") {
        this.write("draft", null);
        this.reportSubmitError(exc);
        await this.loadNext();
        return false;
      }
      this.reportSubmitError(exc);
      return false;
    }
    this.write("pending", null);
    this.write("draft", null);
    this.busy = false;
    this.status("Saved. Next item…", "ok");
    await this.loadNext();
    return true;
  }

  async runSteps(steps) {
    for (const step of steps) {
      try {
        await postWithRetry(step.url, step.body, {
          onRetry: (attempt) => this.status(`Connection lost — retrying (attempt ${attempt + 1})…`, "error"),
        });
      } catch (exc) {
        // Stored before under another key (e.g. a retry from another tab): nothing is lost.
        if (exc instanceof ApiError && ["already_submitted", "vote_exists"].includes(exc.code)) continue;
        throw exc;
      }
    }
  }

  reportSubmitError(exc) {
    if (exc instanceof ApiError && exc.code === "lease_expired") {
      this.status("Your lease on that item expired before you submitted, so it went to someone else.", "error");
    } else if (exc instanceof ApiError) {
      this.status(`Not saved: ${exc.message} (${exc.code})`, "error");
    } else if (exc instanceof NetworkError) {
      this.status("Not saved: the connection is down. Your work is kept as a draft.", "error");
    } else {
      this.status(`Not saved: ${exc}`, "error");
    }
  }

  async skip() {
    if (!this.item || this.busy) return;
    await api("POST", this.page.urls.release, { assignment: this.item.assignment });
    this.write("draft", null);
    this.status("Skipped; it goes to someone else.");
    await this.loadNext();
  }
}
