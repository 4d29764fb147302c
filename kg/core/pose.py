"""Synthetic 3D pose of one FLEX repetition in the FLEX 21-joint MoCap layout.

The joint order is read off the FLEX loader (``utils/misc.py::remap21_to_25`` in
``HaoYin116/FLEX_AQA_Dataset@7c434d9``), which copies joint 0 to NTU Head, 1 to Neck, 2 to
SpineShoulder, 3-6 to the right arm, 7-10 to the left arm, 11-13 to the right hip/knee/ankle,
16-18 to the left, and averages 14/15 (19/20) into the right (left) foot. Which of each foot pair
is toe and which heel is not stated; we store toe first.

Coordinates are metres, y up, z forward (the subject faces +z), x to the subject's left.
The motion is a small forward-kinematics model: per action a preparation pose and an extreme pose
of the trunk, shoulders, elbows, hips and knees, moved through once (one FLEX sample is one
repetition). Some marked error types visibly change the motion: a shortened range of motion,
trunk sway, lowering too quickly, elbow flare, a torso angle off the standard.
"""
from __future__ import annotations

import numpy as np

__all__ = ["FLEX_JOINTS", "MOTIONS", "repetition_pose"]

FLEX_JOINTS = (
    "head", "neck", "spine_shoulder",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_hip", "right_knee", "right_ankle", "right_toe", "right_heel",
    "left_hip", "left_knee", "left_ankle", "left_toe", "left_heel",
)

# Angles in degrees: trunk forward lean, shoulder flexion (0 = arm hanging along the trunk,
# 90 = forward, 180 = overhead), shoulder abduction, elbow flexion (0 = straight), thigh angle from
# vertical (knee forward) and shank angle from vertical (knee ahead of the ankle).
_STAND = dict(trunk=0, flex=5, abd=5, elbow=10, thigh=0, shank=0)


def _motion(start, end, posture="stand", incline=0.0):
    return {"start": {**_STAND, **start}, "end": {**_STAND, **start, **end}, "posture": posture,
            "incline": incline}


_PRESS_START = dict(flex=80, abd=45, elbow=140)
_PRESS_END = dict(flex=175, abd=10, elbow=5)
_BENCH_START = dict(flex=80, abd=60, elbow=100)
_BENCH_END = dict(flex=90, abd=10, elbow=5)
_ROW_START = dict(trunk=50, flex=50, elbow=5, thigh=15, shank=15)

# Keyed by the action's 1-based FLEX index (A01..A20, the order of Table 9).
MOTIONS = {
    1: _motion(_PRESS_START, _PRESS_END),
    2: _motion(dict(flex=10, elbow=10), dict(flex=15, elbow=140)),
    3: _motion(dict(flex=10, abd=10, elbow=10), dict(flex=40, abd=80, elbow=120)),
    4: _motion(dict(flex=5, elbow=10), dict(flex=90)),
    5: _motion(dict(flex=10, elbow=10), dict(flex=15, elbow=140)),
    6: _motion(dict(abd=5, elbow=15), dict(abd=90)),
    7: _motion(dict(trunk=50, flex=50, abd=5, elbow=15, thigh=15, shank=15), dict(abd=80)),
    8: _motion(_BENCH_START, _BENCH_END, "lie"),
    9: _motion(_BENCH_START, _BENCH_END, "lie", incline=30),
    10: _motion(_BENCH_START, _BENCH_END, "lie", incline=-15),
    11: _motion(_BENCH_START, _BENCH_END, "lie"),
    12: _motion(_BENCH_START, _BENCH_END, "lie", incline=30),
    13: _motion(dict(flex=90, abd=0, elbow=15), dict(abd=85), "lie"),
    14: _motion(_PRESS_START, _PRESS_END, "sit"),
    15: _motion(dict(trunk=45, flex=45, elbow=5, thigh=60, shank=25), dict(trunk=0, flex=5, thigh=0, shank=0)),
    16: _motion(dict(flex=30, abd=80, elbow=120), dict(trunk=35, thigh=95, shank=40)),
    17: _motion(_ROW_START, dict(flex=-20, elbow=100)),
    18: _motion(_ROW_START, dict(flex=-20, elbow=100)),
    19: _motion(_ROW_START, dict(flex=-20, elbow=100)),
    20: _motion(dict(trunk=50, flex=-10, elbow=90, thigh=15, shank=15), dict(elbow=0)),
}

# Error types that visibly change the motion (codes of Table 10).
_SHORT_RANGE = {"ET019", "ET028", "ET039", "ET044", "ET048", "ET049"}
_SWAY = {"ET005"}
_FAST_LOWERING = {"ET018"}
_ELBOW_FLARE = {"ET013", "ET021"}
_TORSO_ANGLE = {"ET033"}
_LEAN_BACK = {"ET015"}

_SEG = dict(trunk=0.52, neck=0.60, head=0.74, shoulder_half=0.18, hip_half=0.10, upper_arm=0.30,
            forearm=0.27, hand=0.08, thigh=0.45, shank=0.42)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _rotate_x(points, degrees):
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([x, y * c - z * s, y * s + z * c], axis=-1)


def _phase_profile(n_frames: int, fast_lowering: bool) -> np.ndarray:
    """0 while preparing, rising smoothly to 1 at the turn, back to 0 at the end."""
    t = np.linspace(0.0, 1.0, n_frames)
    prep, turn = 0.15, 0.55 if not fast_lowering else 0.72
    phi = np.zeros(n_frames)
    up = (t >= prep) & (t < turn)
    down = t >= turn
    phi[up] = 0.5 - 0.5 * np.cos(np.pi * (t[up] - prep) / (turn - prep))
    phi[down] = 0.5 + 0.5 * np.cos(np.pi * (t[down] - turn) / (1.0 - turn))
    return phi


def _arm(shoulder, up, fwd, side, flex, abd, elbow, scale):
    """Elbow, wrist and hand positions of one arm, per frame."""
    f, a, e = (np.deg2rad(v)[:, None] for v in (flex, abd, elbow))
    upper = _unit(-up * np.cos(f) * np.cos(a) + fwd * np.sin(f) * np.cos(a) + side * np.sin(a))
    # The elbow bends in the plane of the upper arm and the trunk's forward direction.
    bend = fwd - upper * np.sum(fwd * upper, axis=-1, keepdims=True)
    norm = np.linalg.norm(bend, axis=-1, keepdims=True)
    bend = np.where(norm > 1e-6, bend / np.maximum(norm, 1e-9), up)
    fore = _unit(upper * np.cos(e) + bend * np.sin(e))
    elbow_p = shoulder + upper * _SEG["upper_arm"] * scale
    wrist_p = elbow_p + fore * _SEG["forearm"] * scale
    hand_p = wrist_p + fore * _SEG["hand"] * scale
    return elbow_p, wrist_p, hand_p


def repetition_pose(action_index: int, error_codes, *, n_frames: int, rng: np.random.Generator,
                    scale: float = 1.0, noise_m: float = 0.004) -> np.ndarray:
    """One repetition of a FLEX action: float32 array (n_frames, 21, 3) in metres.

    Parameters
    ----------
    action_index : int
        1-based FLEX action index (A01..A20); other indices fall back to a standing press.
    error_codes : iterable of str
        Error types present in the repetition; some of them change the motion.
    n_frames : int
    rng : numpy Generator
        For the jitter and the small per-sample variations.
    scale : float
        Body size factor.
    noise_m : float
        Standard deviation of the per-joint marker noise, in metres.
    """
    codes = set(error_codes)
    motion = MOTIONS.get(action_index, MOTIONS[1])
    start, end = motion["start"], motion["end"]
    amplitude = 0.78 if codes & _SHORT_RANGE else 1.0
    phi = _phase_profile(n_frames, bool(codes & _FAST_LOWERING)) * amplitude
    t = np.linspace(0.0, 1.0, n_frames)
    track = {k: start[k] + (end[k] - start[k]) * phi for k in start}
    if codes & _SWAY:
        track["trunk"] = track["trunk"] + 6.0 * np.sin(2 * np.pi * 3 * t)
    if codes & _LEAN_BACK:
        track["trunk"] = track["trunk"] - 8.0 * phi
    if codes & _ELBOW_FLARE:
        track["abd"] = track["abd"] + 15.0
    if codes & _TORSO_ANGLE:
        track["trunk"] = track["trunk"] + 12.0
    track = {k: v + rng.normal(0.0, 1.5) for k, v in track.items()}  # this subject's own style

    n = n_frames
    pitch = np.deg2rad(track["trunk"])[:, None]
    up = np.concatenate([np.zeros((n, 1)), np.cos(pitch), np.sin(pitch)], axis=1)
    fwd = np.concatenate([np.zeros((n, 1)), -np.sin(pitch), np.cos(pitch)], axis=1)
    x = np.tile([1.0, 0.0, 0.0], (n, 1))
    pelvis = np.zeros((n, 3))
    joints = np.zeros((n, 21, 3))
    joints[:, 2] = pelvis + up * _SEG["trunk"] * scale
    joints[:, 1] = pelvis + up * _SEG["neck"] * scale
    joints[:, 0] = pelvis + up * _SEG["head"] * scale
    for side_sign, (s, e, w, h) in ((-1.0, (3, 4, 5, 6)), (1.0, (7, 8, 9, 10))):
        shoulder = joints[:, 2] + side_sign * x * _SEG["shoulder_half"] * scale
        joints[:, s] = shoulder
        joints[:, e], joints[:, w], joints[:, h] = _arm(
            shoulder, up, fwd, side_sign * x, track["flex"], track["abd"], track["elbow"], scale)
    thigh = np.deg2rad(track["thigh"])[:, None]
    shank = np.deg2rad(track["shank"])[:, None]
    thigh_dir = np.concatenate([np.zeros((n, 1)), -np.cos(thigh), np.sin(thigh)], axis=1)
    shank_dir = np.concatenate([np.zeros((n, 1)), -np.cos(shank), -np.sin(shank)], axis=1)
    if motion["posture"] == "sit":
        thigh_dir = np.tile([0.0, 0.0, 1.0], (n, 1))
        shank_dir = np.tile([0.0, -1.0, 0.0], (n, 1))
    if motion["posture"] == "lie":
        # Lying on the back: legs along the bench, shanks down to the floor (in the body frame
        # "backward" becomes "down" once the body is turned onto its back below).
        thigh_dir = np.tile([0.0, -1.0, 0.0], (n, 1))
        shank_dir = np.tile([0.0, 0.0, -1.0], (n, 1))
    for side_sign, (hip, knee, ankle) in ((-1.0, (11, 12, 13)), (1.0, (16, 17, 18))):
        joints[:, hip] = pelvis + side_sign * x * _SEG["hip_half"] * scale
        joints[:, knee] = joints[:, hip] + thigh_dir * _SEG["thigh"] * scale
        joints[:, ankle] = joints[:, knee] + shank_dir * _SEG["shank"] * scale
    if motion["posture"] == "lie":
        joints = _rotate_x(joints, -(90.0 - motion["incline"]))
    # Feet (ankles) 8 cm above the floor; lying and seated bodies rest on their bench.
    joints[..., 1] -= joints[:, [13, 18], 1].min() - 0.08
    for ankle, toe, heel in ((13, 14, 15), (18, 19, 20)):
        joints[:, toe] = joints[:, ankle] + np.array([0.0, -0.06, 0.15]) * scale
        joints[:, heel] = joints[:, ankle] + np.array([0.0, -0.06, -0.05]) * scale
    joints += rng.normal(0.0, noise_m, size=joints.shape)
    return joints.astype(np.float32)
