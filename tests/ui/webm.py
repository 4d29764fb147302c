"""A minimal WebM (Matroska) writer for test videos: one VP8 track, one cluster, a cue per frame.

The test suite has no ffmpeg; Chromium encodes the frames (WebCodecs ``VideoEncoder``) and this
module wraps the encoded frames in the smallest container Chromium plays and seeks in. Every
frame is a key frame and has a cue point, so a seek lands exactly on the frame asked for.
"""
import struct

TIMECODE_SCALE_NS = 1_000_000  # block timecodes in milliseconds


def _vint_size(n: int) -> bytes:
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return (n | (1 << (7 * length))).to_bytes(length, "big")
    raise ValueError("element too large")


def _uint(value: int, width: int | None = None) -> bytes:
    width = width or max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(width, "big")


def el(element_id: int, payload: bytes) -> bytes:
    return _uint(element_id) + _vint_size(len(payload)) + payload


def el_uint(element_id: int, value: int, width: int | None = None) -> bytes:
    return el(element_id, _uint(value, width))


def el_float(element_id: int, value: float) -> bytes:
    return el(element_id, struct.pack(">d", value))


def el_str(element_id: int, value: str) -> bytes:
    return el(element_id, value.encode("ascii"))


def webm_vp8(frames: list[bytes], *, width: int, height: int, frame_ms: int) -> bytes:
    """A WebM file of VP8 key frames shown ``frame_ms`` apart, starting at 0."""
    if len(frames) * frame_ms > 32_000:
        raise ValueError("one cluster holds at most 32 s of frames")
    header = el(0x1A45DFA3, el_uint(0x4286, 1) + el_uint(0x42F7, 1) + el_uint(0x42F2, 4) + el_uint(0x42F3, 8)
                + el_str(0x4282, "webm") + el_uint(0x4287, 2) + el_uint(0x4285, 2))
    info = el(0x1549A966, el_uint(0x2AD7B1, TIMECODE_SCALE_NS) + el_float(0x4489, float(len(frames) * frame_ms))
              + el_str(0x4D80, "formlab-tests") + el_str(0x5741, "formlab-tests"))
    track = el(0xAE, el_uint(0xD7, 1) + el_uint(0x73C5, 1) + el_uint(0x83, 1) + el_str(0x86, "V_VP8")
               + el_uint(0x23E383, frame_ms * 1_000_000)
               + el(0xE0, el_uint(0xB0, width) + el_uint(0xBA, height)))
    tracks = el(0x1654AE6B, track)
    blocks = b"".join(
        el(0xA3, b"\x81" + struct.pack(">h", i * frame_ms) + b"\x80" + data) for i, data in enumerate(frames))
    cluster = el(0x1F43B675, el_uint(0xE7, 0) + blocks)

    def cues(cluster_position: int) -> bytes:
        points = b"".join(
            el(0xBB, el_uint(0xB3, i * frame_ms, 4)
               + el(0xB7, el_uint(0xF7, 1) + el_uint(0xF1, cluster_position, 8))) for i in range(len(frames)))
        return el(0x1C53BB6B, points)

    # Cues come before the cluster; positions are fixed-width, so their size does not depend on
    # the position they hold.
    position = len(info) + len(tracks) + len(cues(0))
    segment = el(0x18538067, info + tracks + cues(position) + cluster)
    return header + segment
