// In-page timing, read by the browser benchmark (bench/bench_ui.py) and the tests.
// frameStep: ms from a key's keydown (event.timeStamp) to the canvas holding the new frame;
// framePaint: ms from keydown to the next animation frame (the canvas on screen);
// ready: ms from navigation start to pose loaded and the first frame drawn.

const perf = (window.__formlabPerf = window.__formlabPerf || { frameStep: [], framePaint: [], ready: null });

export function recordStep(ev) {
  const drawn = performance.now();
  perf.frameStep.push(drawn - ev.timeStamp);
  requestAnimationFrame(() => perf.framePaint.push(performance.now() - ev.timeStamp));
}

export function recordReady() {
  if (perf.ready === null) perf.ready = performance.now();
  document.body.dataset.ready = "1";
}
