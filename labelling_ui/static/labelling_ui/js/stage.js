// The shared stage of the labelling pages: canvas (+ video when the clip has one), timeline,
// frame counter, and the frame keys every page uses (←/→, Shift+←/→, Space, Home/End).

import { PosePlayer } from "./player.js";
import { Timeline } from "./timeline.js";
import { recordStep } from "./perf.js";

export class Stage {
  constructor(root) {
    this.canvas = root.querySelector("#pose-canvas");
    this.video = root.querySelector("#video");
    this.timelineEl = root.querySelector("#timeline");
    this.frameEl = root.querySelector("#frame-no");
    this.frameMaxEl = root.querySelector("#frame-max");
    this.listeners = [];
    this.player = null;
    window.addEventListener("resize", () => {
      if (this.player) this.player.resize();
      if (this.timeline) this.timeline.resize();
    });
  }

  onFrame(fn) {
    this.listeners.push(fn);
  }

  load(ctx, pose) {
    const clip = ctx.clip;
    if (this.player) this.player.pause();
    if (clip.video_url) {
      this.video.hidden = false;
      this.video.src = clip.video_url;
      this.video.load();
    } else {
      this.video.hidden = true;
      this.video.removeAttribute("src");
    }
    this.player = new PosePlayer({
      canvas: this.canvas, video: clip.video_url ? this.video : null, clip, pose,
      onFrame: (f) => this._frame(f),
    });
    this.frameCount = this.player.frameCount;
    this.frameMaxEl.textContent = String(this.frameCount - 1);
    this.timeline = new Timeline(this.timelineEl, {
      frameCount: this.frameCount, onSeek: (f) => this.player.setFrame(f),
    });
    if (clip.video_url) {
      this.video.addEventListener("loadedmetadata", () => this.player.setFrame(this.player.frame), { once: true });
    }
    this.player.setFrame(0);
  }

  _frame(f) {
    this.frameEl.textContent = String(f);
    this.timeline && this.timeline.setCursor(f);
    for (const fn of this.listeners) fn(f);
  }

  get frame() {
    return this.player ? this.player.frame : 0;
  }

  // Frame keys shared by every page with a player.
  frameBindings({ space = true } = {}) {
    const step = (d) => (ev) => { if (this.player) { this.player.step(d); recordStep(ev); } };
    const list = [
      { key: "ArrowLeft", shift: false, label: "←", help: "one frame back", run: step(-1) },
      { key: "ArrowRight", shift: false, label: "→", help: "one frame forward", run: step(1) },
      { key: "ArrowLeft", shift: true, label: "Shift+←", help: "ten frames back", run: step(-10) },
      { key: "ArrowRight", shift: true, label: "Shift+→", help: "ten frames forward", run: step(10) },
      { key: "Home", label: "Home", help: "first frame", run: () => this.player && this.player.setFrame(0) },
      { key: "End", label: "End", help: "last frame", run: () => this.player && this.player.setFrame(this.frameCount - 1) },
    ];
    if (space) list.push({ key: " ", label: "Space", help: "play / pause", run: () => this.player && this.player.toggle() });
    return list;
  }
}
