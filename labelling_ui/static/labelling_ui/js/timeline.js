// The timeline under the player: repetition spans, error segments, end marks and feedback
// ticks on one canvas (redrawn only when they change), and a cursor element moved with a CSS
// transform on every frame step (cheap: no redraw). Click or drag to seek.

export class Timeline {
  constructor(container, { frameCount, onSeek = () => {} }) {
    this.frameCount = frameCount;
    this.onSeek = onSeek;
    container.replaceChildren();
    this.canvas = document.createElement("canvas");
    this.canvas.className = "timeline-canvas";
    this.cursor = document.createElement("div");
    this.cursor.className = "timeline-cursor";
    container.append(this.canvas, this.cursor);
    this.container = container;
    this.marks = [];
    this.spans = [];      // [{start, end, active}]
    this.segments = [];   // [{start, end, color, selected}]
    this.ticks = [];      // [frame]
    this.pending = null;  // a segment start waiting for its end
    this.frame = 0;
    let dragging = false;
    const seek = (ev) => {
      const rect = this.canvas.getBoundingClientRect();
      const f = Math.round((ev.clientX - rect.left) / rect.width * (this.frameCount - 1));
      this.onSeek(Math.min(Math.max(f, 0), this.frameCount - 1));
    };
    this.canvas.addEventListener("pointerdown", (ev) => { dragging = true; seek(ev); });
    window.addEventListener("pointermove", (ev) => { if (dragging) seek(ev); });
    window.addEventListener("pointerup", () => { dragging = false; });
    this.resize();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.width = rect.width;
    this.canvas.width = Math.max(1, Math.round(rect.width * dpr));
    this.canvas.height = Math.max(1, Math.round(rect.height * dpr));
    this.redraw();
    this.setCursor(this.frame);
  }

  x(frame) {
    return this.frameCount > 1 ? frame / (this.frameCount - 1) : 0;
  }

  set(parts) {
    Object.assign(this, parts);
    this.redraw();
  }

  redraw() {
    const ctx = this.canvas.getContext("2d"), w = this.canvas.width, h = this.canvas.height;
    ctx.fillStyle = "#1c2430";
    ctx.fillRect(0, 0, w, h);
    this.spans.forEach((s, i) => {
      ctx.fillStyle = s.active ? "rgba(127,209,255,0.35)" : (i % 2 ? "rgba(255,255,255,0.06)" : "rgba(255,255,255,0.12)");
      ctx.fillRect(this.x(s.start) * w, 0, Math.max(1, (this.x(s.end) - this.x(s.start)) * w), h);
    });
    const rowH = h * 0.3;
    this.segments.forEach((s) => {
      ctx.fillStyle = s.color || "#ef476f";
      ctx.globalAlpha = s.selected ? 0.95 : 0.6;
      ctx.fillRect(this.x(s.start) * w, h - rowH - 2, Math.max(2, (this.x(s.end) - this.x(s.start)) * w), rowH);
    });
    ctx.globalAlpha = 1;
    if (this.pending !== null) {
      ctx.fillStyle = "#ffd166";
      ctx.fillRect(this.x(this.pending) * w - 1, h - rowH - 2, 3, rowH);
    }
    ctx.fillStyle = "#ff5d73";
    this.marks.forEach((f) => ctx.fillRect(Math.round(this.x(f) * w) - 1, 0, 3, h));
    ctx.fillStyle = "#06d6a0";
    this.ticks.forEach((f) => {
      const x = Math.round(this.x(f) * w);
      ctx.beginPath();
      ctx.moveTo(x - 5, 0); ctx.lineTo(x + 5, 0); ctx.lineTo(x, 9);
      ctx.fill();
    });
  }

  setCursor(frame) {
    this.frame = frame;
    this.cursor.style.transform = `translateX(${this.x(frame) * this.width}px)`;
  }
}
