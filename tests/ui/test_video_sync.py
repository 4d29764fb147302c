"""The video beside the skeleton stays on the frame shown: a real VP8 video whose every frame
carries its own index, decoded back from the picture after frame steps and after playing."""
import time

import pytest
from django.core.files.base import ContentFile

from annotation.models import Assignment
from datasets.core.pose_io import pose_bytes
from datasets.models import Dataset, Exercise
from datasets.services.clips import clip_create
from tests.factories import pose_array
from tests.ui.helpers import press
from tests.ui.webm import webm_vp8

pytestmark = pytest.mark.browser

FPS = 25  # a frame every 40 ms: whole milliseconds in the container
N_FRAMES = 120
W, H = 160, 120

# Frame i is eight vertical stripes, black or white: the bits of i (robust to lossy coding).
ENCODE_JS = """async ([n, w, h, frameUs]) => {
  const chunks = [];
  const encoder = new VideoEncoder({
    output: (chunk) => { const b = new Uint8Array(chunk.byteLength); chunk.copyTo(b); chunks.push(Array.from(b)); },
    error: (e) => { throw e; },
  });
  encoder.configure({codec: 'vp8', width: w, height: h, bitrate: 400000, framerate: 1e6 / frameUs});
  const canvas = new OffscreenCanvas(w, h), ctx = canvas.getContext('2d');
  for (let i = 0; i < n; i++) {
    for (let bit = 0; bit < 8; bit++) {
      ctx.fillStyle = (i >> bit) & 1 ? '#fff' : '#000';
      ctx.fillRect(bit * w / 8, 0, w / 8, h);
    }
    const frame = new VideoFrame(canvas, {timestamp: i * frameUs, duration: frameUs});
    encoder.encode(frame, {keyFrame: true});
    frame.close();
  }
  await encoder.flush();
  return chunks;
}"""

DECODE_JS = """([w, h]) => {
  const v = document.querySelector('#video');
  if (v.seeking || v.readyState < 2) return null;
  const c = new OffscreenCanvas(w, h), x = c.getContext('2d');
  x.drawImage(v, 0, 0, w, h);
  let value = 0;
  for (let bit = 0; bit < 8; bit++) {
    if (x.getImageData(Math.round((bit + 0.5) * w / 8), h / 2, 1, 1).data[0] > 127) value |= 1 << bit;
  }
  return value;
}"""


def picture_frame(page, timeout=10.0):
    """The index painted in the video's current picture, once any seek has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(DECODE_JS, [W, H])
        if value is not None:
            return value
        page.wait_for_timeout(30)
    raise AssertionError("the video never settled")


@pytest.fixture
def video_clip(open_as):
    """A 120-frame clip at 25 fps with pose and a VP8 video of the same frames."""
    encoder = open_as("annotator")
    encoder.goto("/accounts/login/")
    frames = [bytes(c) for c in encoder.page.evaluate(ENCODE_JS, [N_FRAMES, W, H, 1_000_000 // FPS])]
    dataset = Dataset.objects.create(name=f"ui-video-{time.monotonic_ns()}")
    exercise = Exercise.objects.create(dataset=dataset, slug="squat", name="Squat")
    clip = clip_create(dataset=dataset, exercise=exercise, external_id="video-clip", fps=float(FPS),
                       pose_data=pose_bytes(pose_array(frames=N_FRAMES, seed=3)))
    clip.video_file.save("clip.webm", ContentFile(webm_vp8(frames, width=W, height=H, frame_ms=1000 // FPS)))
    return dataset, clip


def test_the_video_shows_the_frame_the_counter_shows_after_steps_and_after_playing(open_as, video_clip):
    # given
    dataset, clip = video_clip
    s = open_as("annotator")
    s.goto(f"/annotate/{dataset.pk}/endpoints/")
    s.wait_ready()
    page = s.page
    page.wait_for_selector("#video:not([hidden])")
    seen = []
    # when: steps of one and ten frames, forwards and back, then play and pause
    for key, times in (("ArrowRight", 1), ("ArrowRight", 6), ("Shift+ArrowRight", 3), ("ArrowLeft", 2),
                       ("Shift+ArrowRight", 4), ("End", 1), ("Home", 1), ("Shift+ArrowRight", 2)):
        press(page, key, times)
        seen.append((int(page.text_content("#frame-no")), picture_frame(page)))
    page.keyboard.press(" ")
    page.wait_for_timeout(700)
    page.keyboard.press(" ")
    seen.append((int(page.text_content("#frame-no")), picture_frame(page)))
    s.shot("endpoints-with-video")
    # then
    assert [shown for shown, _ in seen[:8]] == [1, 7, 37, 35, 75, 119, 0, 20]
    assert all(shown == picture for shown, picture in seen), seen
    assert seen[-1][0] > 20
    assert Assignment.objects.get(annotator=s.user).clip_id == clip.pk
    assert s.console_errors == []
