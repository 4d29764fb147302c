// The pose player: a clip's skeleton on a canvas, optionally with the clip's video beside it,
// both always on the same frame. Frames are indices 0..frameCount-1, exactly as displayed.
//
// Frame-exactness: the video is seeked to the middle of a frame, (f + 0.5) / fps, using the
// clip's stored fps (never a guessed one), so rounding in the decoder cannot land on the
// neighbouring frame; while playing, the frame shown is read back from the video's own
// presentation time (requestVideoFrameCallback), so the skeleton follows the picture.

const YAW = 25 * Math.PI / 180; // a slight turn makes 3-D poses readable on a flat canvas

export class PosePlayer {
  constructor({ canvas, video = null, clip, pose, onFrame = () => {} }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.video = video;
    this.clip = clip;
    this.fps = clip.fps;
    this.onFrame = onFrame;
    this.frame = 0;
    this.playing = false;
    this.loop = null; // [start, end] while looping a repetition
    this.bones = clip.bones || [];
    this.setPose(pose);
    this.frameCount = this.points ? this.nFrames : clip.frame_count;
    this._tick = this._tick.bind(this);
    this._onVideoFrame = this._onVideoFrame.bind(this);
    this.resize();
  }

  setPose(pose) {
    if (!pose) {
      this.points = null;
      this.nFrames = this.clip.frame_count;
      return;
    }
    const [frames, joints, dims] = pose.shape;
    this.nFrames = frames;
    this.nJoints = joints;
    const src = pose.data;
    const pts = new Float32Array(frames * joints * 2);
    const cos = Math.cos(YAW), sin = Math.sin(YAW);
    const flip = this.clip.y_down ? 1 : -1;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0, n = frames * joints; i < n; i++) {
      let x = src[i * dims], y = src[i * dims + 1];
      if (dims === 3) x = x * cos + src[i * dims + 2] * sin;
      y *= flip;
      pts[2 * i] = x;
      pts[2 * i + 1] = y;
      if (x === x && y === y) { // not NaN
        if (x < minX) minX = x; if (x > maxX) maxX = x;
        if (y < minY) minY = y; if (y > maxY) maxY = y;
      }
    }
    this.points = pts;
    this.bounds = { minX, minY, maxX, maxY };
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(rect.width * dpr)), h = Math.max(1, Math.round(rect.height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    // One scale for the whole clip (fit every frame), so the body does not jump between frames.
    const b = this.bounds;
    if (b && isFinite(b.minX)) {
      const spanX = Math.max(b.maxX - b.minX, 1e-6), spanY = Math.max(b.maxY - b.minY, 1e-6);
      const margin = 0.08;
      this.scale = Math.min(w * (1 - 2 * margin) / spanX, h * (1 - 2 * margin) / spanY);
      this.offX = (w - spanX * this.scale) / 2 - b.minX * this.scale;
      this.offY = (h - spanY * this.scale) / 2 - b.minY * this.scale;
    }
    this.lineWidth = Math.max(2, Math.round(2.5 * dpr));
    this.jointSize = Math.max(3, Math.round(3 * dpr));
    this.draw();
  }

  // Synchronous: when this returns, the canvas holds the current frame.
  draw() {
    const ctx = this.ctx, w = this.canvas.width, h = this.canvas.height;
    ctx.fillStyle = "#10151c";
    ctx.fillRect(0, 0, w, h);
    if (!this.points) return;
    const J = this.nJoints, base = this.frame * J * 2, p = this.points, s = this.scale, ox = this.offX, oy = this.offY;
    ctx.lineWidth = this.lineWidth;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#7fd1ff";
    ctx.beginPath();
    for (let k = 0; k < this.bones.length; k++) {
      const a = base + 2 * this.bones[k][0], b = base + 2 * this.bones[k][1];
      const ax = p[a], ay = p[a + 1], bx = p[b], by = p[b + 1];
      if (ax !== ax || ay !== ay || bx !== bx || by !== by) continue; // a dropped joint
      ctx.moveTo(ax * s + ox, ay * s + oy);
      ctx.lineTo(bx * s + ox, by * s + oy);
    }
    ctx.stroke();
    ctx.fillStyle = "#ffd166";
    const r = this.jointSize;
    ctx.beginPath();
    for (let j = 0; j < J; j++) {
      const x = p[base + 2 * j], y = p[base + 2 * j + 1];
      if (x !== x || y !== y) continue;
      ctx.rect(x * s + ox - r / 2, y * s + oy - r / 2, r, r);
    }
    ctx.fill();
  }

  clamp(f) {
    return Math.min(Math.max(0, Math.round(f)), this.frameCount - 1);
  }

  setFrame(f, { seekVideo = true, fromClock = false } = {}) {
    const frame = this.clamp(f);
    this.frame = frame;
    this.draw();
    if (this.playing && !fromClock) {
      // A jump while playing: play on from the new frame.
      this.t0 = performance.now();
      this.f0 = frame;
      if (this.video && this.usingVideo) this._seekVideo(frame);
    } else if (seekVideo && this.video && !this.playing) {
      this._seekVideo(frame);
    }
    this.onFrame(frame);
    return frame;
  }

  step(delta) {
    if (this.playing) this.pause();
    return this.setFrame(this.frame + delta);
  }

  _seekVideo(frame) {
    const v = this.video;
    if (!v || !(v.readyState >= 1)) return;
    v.currentTime = (frame + 0.5) / this.fps;
  }

  setLoop(range) {
    this.loop = range; // [start, end] inclusive, or null
    if (range && (this.frame < range[0] || this.frame > range[1])) this.setFrame(range[0]);
  }

  toggle() {
    if (this.playing) this.pause(); else this.play();
  }

  play() {
    if (this.playing) return;
    this.playing = true;
    const end = this.loop ? this.loop[1] : this.frameCount - 1;
    if (this.frame >= end) this.setFrame(this.loop ? this.loop[0] : 0);
    if (this.video && this.video.readyState >= 2 && "requestVideoFrameCallback" in this.video) {
      this.usingVideo = true;
      this.video.requestVideoFrameCallback(this._onVideoFrame);
      this.video.play().catch(() => { this.usingVideo = false; this._startClock(); });
    } else {
      this._startClock();
    }
  }

  _startClock() {
    this.usingVideo = false;
    this.t0 = performance.now();
    this.f0 = this.frame;
    requestAnimationFrame(this._tick);
  }

  _tick(now) {
    if (!this.playing) return;
    let f = this.f0 + Math.floor((now - this.t0) * this.fps / 1000);
    if (this.loop) {
      const [a, b] = this.loop, len = b - a + 1;
      if (f > b || f < a) f = a + (((f - a) % len) + len) % len;
    } else if (f >= this.frameCount - 1) {
      this.setFrame(this.frameCount - 1, { seekVideo: false, fromClock: true });
      this.pause();
      return;
    }
    if (f !== this.frame) this.setFrame(f, { seekVideo: false, fromClock: true });
    requestAnimationFrame(this._tick);
  }

  _onVideoFrame(now, meta) {
    if (!this.playing) return;
    const f = this.clamp(Math.round(meta.mediaTime * this.fps));
    if (this.loop && (f > this.loop[1] || f < this.loop[0])) {
      this.video.currentTime = (this.loop[0] + 0.5) / this.fps;
    } else if (f !== this.frame) {
      this.setFrame(f, { seekVideo: false, fromClock: true });
    }
    this.video.requestVideoFrameCallback(this._onVideoFrame);
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    this.usingVideo = false;
    if (this.video && !this.video.paused) this.video.pause();
    // Snap the picture to the exact frame the skeleton shows.
    if (this.video) this._seekVideo(this.frame);
  }
}
