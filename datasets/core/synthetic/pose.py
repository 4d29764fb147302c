"""Per-exercise motion templates and the clip renderer of the synthetic pose sequences.

Each of the 47 Halo Trainer exercises (seed 000, Table 5) gets a motion template: a rest
posture and a few keyframe postures, as joint angles of the `skeleton` model. One repetition runs
rest -> keyframes -> rest between its true start and end frame (smoothstep between keyframes);
frames between repetitions hold the rest posture. Alternating exercises mirror every other
repetition; single-side exercises pick a side per clip.

The form errors of Table 6 change the motion of the repetition they belong to, in proportion to
the severity 0..3:

- range-of-motion errors (incomplete descent / reach, knee not high enough, a squat whose hips
  stay above the knees) pull the keyframe posture back towards a reference posture (the rest, or
  the previous phase): at severity s the excursion is ``1 - 0.19 s`` of the full one;
- every other error adds a joint-angle offset per severity level at the keyframes where it shows:
  the neck flexes for "head dropping downward", trunk and hips extend (sag) or flex (pike) for the
  "hips below / above the line" errors, the knees move towards the midline for "knee inside the
  midline of the foot", the heels lift for "heels off floor", the foot turns out for "foot not
  facing forward", and so on (`_EFFECTS`).

On top come participant anthropometry and style, per-repetition variation of amplitude and
posture, camera yaw / distance / position, pixel noise, and dropped frames and joints (NaN).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datasets.core.synthetic import skeleton as sk
from datasets.core.synthetic.halo_catalog import HALO_EXERCISES, ExerciseSpec

__all__ = [
    "IMAGE_SIZE",
    "MOTIONS",
    "ClipPose",
    "MotionTemplate",
    "ParticipantBody",
    "participant_body",
    "render_clip",
]

#: Frame size the pixel coordinates refer to (width, height), landscape phone video.
IMAGE_SIZE = (1280, 720)

# Posture keys -> dof indices (one index, or (left, right) for sided keys).
_KEYS: dict[str, tuple[int, ...]] = {
    "pitch": (sk.DOF_PITCH,), "trunk": (sk.DOF_TRUNK,), "lat": (sk.DOF_TRUNK_LAT,),
    "twist": (sk.DOF_TWIST,), "neck": (sk.DOF_NECK,),
    "hip": (sk.DOF_HIP_L, sk.DOF_HIP_R), "abd": (sk.DOF_ABD_L, sk.DOF_ABD_R),
    "knee": (sk.DOF_KNEE_L, sk.DOF_KNEE_R), "ankle": (sk.DOF_ANKLE_L, sk.DOF_ANKLE_R),
    "foot_rot": (sk.DOF_FOOT_ROT_L, sk.DOF_FOOT_ROT_R), "sh": (sk.DOF_SH_L, sk.DOF_SH_R),
    "sh_abd": (sk.DOF_SH_ABD_L, sk.DOF_SH_ABD_R), "elbow": (sk.DOF_ELBOW_L, sk.DOF_ELBOW_R),
    "valgus": (sk.DOF_VALGUS_L, sk.DOF_VALGUS_R),
    "lift": (sk.DOF_LIFT,), "fwd": (sk.DOF_SHIFT_FWD,), "shift": (sk.DOF_SHIFT_LAT,),
}


def _p(base: dict, **kw) -> dict:
    """A posture: ``base`` with some keys replaced. Sided keys take a scalar or (left, right)."""
    out = dict(base)
    out.update(kw)
    return out


def _vector(posture: dict) -> np.ndarray:
    v = np.zeros(sk.N_DOF)
    for key, value in posture.items():
        idx = _KEYS[key]
        values = value if isinstance(value, tuple) else (value,) * len(idx)
        v[list(idx)] = values
    return v


# ---- base postures (angles in radians, offsets in body heights) -------------------------------
STAND = dict(pitch=0.0, trunk=0.04, neck=0.05, hip=0.03, abd=0.06, knee=0.05, ankle=0.0,
             foot_rot=0.2, sh=0.08, sh_abd=0.12, elbow=0.25)
SQUAT_BOTTOM = _p(STAND, trunk=0.65, hip=1.75, knee=2.0, abd=0.14, foot_rot=0.35, sh=1.35,
                  elbow=0.1, neck=0.0)
SQUAT_HANDS = _p(STAND, trunk=1.0, hip=1.9, knee=2.2, abd=0.12, sh=1.25, elbow=0.05, neck=0.1)
JUMP = _p(STAND, lift=0.12, hip=0.0, knee=0.05, ankle=0.7, sh=2.8, sh_abd=0.3, elbow=0.1)
PLANK = dict(pitch=1.25, trunk=0.0, neck=0.1, hip=0.0, abd=0.05, knee=0.02, ankle=0.32,
             foot_rot=0.0, sh=1.25, sh_abd=0.12, elbow=0.05)
PUSHUP_BOTTOM = _p(PLANK, pitch=1.48, ankle=0.1, sh=-0.7, sh_abd=0.3, elbow=2.2)
KNEEL_TOP = _p(PLANK, pitch=0.93, knee=0.64, ankle=2.2, sh=0.93)
KNEEL_BOTTOM = _p(KNEEL_TOP, pitch=1.46, knee=0.11, ankle=1.68, sh=-0.7, sh_abd=0.3, elbow=2.2)
FOREARM_PLANK = _p(PLANK, pitch=1.36, ankle=0.21, sh=1.36, elbow=1.57, sh_abd=0.2)
PRONE = _p(PLANK, pitch=1.57, ankle=0.9, sh=2.9, elbow=0.1, sh_abd=0.2)
SUPINE = dict(pitch=-1.57, trunk=0.0, neck=0.0, hip=0.0, abd=0.06, knee=0.05, ankle=0.0,
              foot_rot=0.3, sh=0.15, sh_abd=0.2, elbow=0.1)
SUPINE_KNEES_BENT = _p(SUPINE, hip=0.785, knee=1.57, ankle=1.57, abd=0.1)
BRIDGE = _p(SUPINE_KNEES_BENT, trunk=-0.52, hip=0.52, knee=1.67, sh=0.45)
QUADRUPED = dict(pitch=1.57, trunk=0.0, neck=0.1, hip=1.57, abd=0.08, knee=1.57, ankle=1.57,
                 foot_rot=0.0, sh=1.57, sh_abd=0.1, elbow=0.05)
BEAR = _p(QUADRUPED, pitch=1.45, hip=1.45, knee=1.6, ankle=0.1, sh=1.45)
DOWNDOG = dict(pitch=1.57, trunk=0.63, neck=-0.05, hip=1.07, abd=0.08, knee=0.0, ankle=-1.57,
               foot_rot=0.1, sh=3.05, sh_abd=0.15, elbow=0.0)
SQUATTY = _p(STAND, trunk=1.2, hip=2.2, knee=2.4, abd=0.2, sh=1.5, elbow=0.05, neck=0.1,
             foot_rot=0.4)
FOLD = _p(STAND, trunk=2.3, hip=0.0, knee=0.12, sh=2.4, sh_abd=0.1, elbow=0.05, neck=0.3)
CRAB = dict(pitch=0.0, trunk=-1.05, neck=-0.2, hip=1.77, abd=0.15, knee=1.67, ankle=0.0,
            foot_rot=0.2, sh=-1.05, sh_abd=0.15, elbow=0.0)
HIGH_BOAT = dict(pitch=0.0, trunk=-0.75, neck=0.2, hip=2.1, abd=0.05, knee=0.3, ankle=0.3,
                 foot_rot=0.1, sh=1.6, sh_abd=0.1, elbow=0.05)
LOW_BOAT = _p(HIGH_BOAT, trunk=-1.25, hip=1.75, knee=0.05, sh=2.6)
LUNGE_L = _p(STAND, hip=(1.45, -0.35), knee=(1.5, 1.4), ankle=(0.0, 1.0), trunk=0.12,
             sh=0.3, elbow=1.3, foot_rot=0.1)
# The straight leg reaches far out so both feet stay on the floor while the pelvis drops.
SIDE_LUNGE_L = _p(STAND, shift=0.16, abd=(0.35, 0.85), hip=(1.0, 0.1), knee=(1.2, 0.05),
                  trunk=0.55, foot_rot=(0.35, 0.3), sh=1.3, elbow=1.2)
SUMO_STAND = _p(STAND, abd=0.42, foot_rot=0.7, sh=0.3, elbow=1.6)
SUMO_BOTTOM = _p(SUMO_STAND, hip=1.45, knee=1.75, trunk=0.3)
RACKED = _p(STAND, sh=0.4, sh_abd=0.9, elbow=2.4)


@dataclass(frozen=True)
class MotionTemplate:
    """How one repetition of an exercise moves.

    Attributes
    ----------
    rest : dict
        Posture between repetitions.
    keyframes : tuple of (u, name, posture)
        Postures reached at phase ``u`` in (0, 1) of the repetition, in order.
    side : {"none", "alternate", "clip"}
        Mirror every other repetition, or pick one side per clip.
    view_deg : float
        Nominal camera yaw (0 = frontal, 90 = profile).
    gap : float
        Mean rest between repetitions, as a fraction of the repetition length.
    errors : dict
        Error identifier (Table 6 wording) -> ``dict(kf=names, ref=name, side="both"|"L")``:
        where the error shows (default: all keyframes), the reference posture of a
        range-of-motion error (default: the rest) and whether it is one-sided.
    """

    rest: dict
    keyframes: tuple[tuple[float, str, dict], ...]
    side: str = "none"
    view_deg: float = 40.0
    gap: float = 0.12
    errors: dict = field(default_factory=dict)


def _t(rest, *keyframes, **kw) -> MotionTemplate:
    return MotionTemplate(rest=rest, keyframes=tuple(keyframes), **kw)


_PUSHUP_ERRORS = dict(
    head_dropping_downward=dict(kf=("bottom",)),
    incomplete_descent=dict(kf=("bottom",)),
)

MOTIONS: dict[str, MotionTemplate] = {
    "bicycle_crunches": _t(
        _p(SUPINE, trunk=0.35, hip=1.2, knee=1.5, ankle=0.6, sh=2.6, sh_abd=1.0, elbow=2.3),
        (0.5, "twist", _p(SUPINE, trunk=0.6, twist=0.6, hip=(1.9, 0.6), knee=(2.1, 0.15),
                          ankle=0.6, sh=2.6, sh_abd=1.0, elbow=2.3)),
        side="alternate", view_deg=70, gap=0.02),
    "burpee": _t(
        STAND,
        (0.18, "squat", SQUAT_HANDS), (0.36, "plank", PLANK), (0.52, "bottom", PUSHUP_BOTTOM),
        (0.66, "plank2", PLANK), (0.78, "squat2", SQUAT_HANDS), (0.9, "jump", JUMP),
        view_deg=45, gap=0.08,
        errors=dict(head_dropping_downward=dict(kf=("plank", "bottom", "plank2")),
                    incomplete_descent=dict(kf=("bottom",), ref="plank"),
                    knees_touch_the_floor=dict(kf=("plank", "bottom", "plank2")))),
    "butt_kickers": _t(
        _p(STAND, sh=0.2, elbow=1.5),
        (0.5, "kick", _p(STAND, knee=(2.3, 0.1), hip=(-0.15, 0.05), lift=0.03, sh=(-0.3, 0.5),
                         elbow=1.5, ankle=(0.6, 0.2))),
        side="alternate", view_deg=60, gap=0.0),
    "crab_contralateral_touch": _t(
        CRAB,
        (0.5, "touch", _p(CRAB, hip=(2.4, 1.77), knee=(0.15, 1.67), sh=(-1.05, 1.3),
                          trunk=-0.7, ankle=(0.4, 0.0))),
        side="alternate", view_deg=70, gap=0.08),
    "curtsy_lunge": _t(
        _p(STAND, sh=1.2, elbow=1.5),
        (0.5, "lunge", _p(STAND, hip=(1.2, -0.2), abd=(0.05, -0.35), knee=(1.4, 1.5),
                          ankle=(0.0, 0.9), trunk=0.15, sh=1.2, elbow=1.5)),
        side="alternate", view_deg=20),
    "db_floor_press": _t(
        _p(SUPINE_KNEES_BENT, sh=1.57, sh_abd=0.2, elbow=0.05),
        (0.5, "lowered", _p(SUPINE_KNEES_BENT, sh=0.3, sh_abd=1.0, elbow=1.5)),
        view_deg=70, gap=0.1),
    "db_single_arm_overhead_press": _t(
        _p(STAND, sh=(0.4, 0.08), sh_abd=(1.2, 0.12), elbow=(2.4, 0.25)),
        (0.5, "press", _p(STAND, sh=(2.9, 0.08), sh_abd=(0.3, 0.12), elbow=(0.1, 0.25))),
        side="clip", view_deg=15, gap=0.12),
    "db_thruster": _t(
        RACKED,
        (0.35, "squat", _p(RACKED, hip=1.6, knee=1.9, trunk=0.5, abd=0.12)),
        (0.7, "press", _p(STAND, sh=2.95, sh_abd=0.25, elbow=0.05, ankle=0.1)),
        view_deg=40, gap=0.08),
    "dive_bomb_push_up": _t(
        DOWNDOG,
        (0.35, "dive", _p(PUSHUP_BOTTOM, hip=0.35, trunk=0.15)),
        (0.6, "updog", dict(pitch=1.57, trunk=-0.7, neck=-0.3, hip=-0.15, abd=0.05, knee=0.0,
                            ankle=1.2, foot_rot=0.0, sh=0.87, sh_abd=0.15, elbow=0.05)),
        view_deg=70, gap=0.1,
        errors=dict(hips_too_high=dict(kf=("dive",)), hips_too_low=dict(kf=("dive", "updog")),
                    incomplete_descent_one=dict(kf=("dive",)),
                    incomplete_descent_two=dict(kf=("updog",), ref="dive"))),
    "down_dog_to_squatty_dog": _t(DOWNDOG, (0.5, "squat", SQUATTY), view_deg=70, gap=0.1),
    "forward_back_crawl": _t(
        BEAR,
        (0.5, "step", _p(BEAR, fwd=0.18, sh=(1.1, 1.45), hip=(1.45, 1.8), knee=(1.6, 1.9))),
        side="alternate", view_deg=70, gap=0.05),
    "good_morning": _t(
        _p(STAND, sh=2.6, sh_abd=1.3, elbow=2.5),
        (0.5, "hinge", _p(STAND, trunk=1.35, knee=0.25, sh=2.6, sh_abd=1.3, elbow=2.5)),
        view_deg=65, gap=0.12),
    "high_knees": _t(
        _p(STAND, sh=0.2, elbow=1.5),
        (0.5, "knee", _p(STAND, hip=(1.6, 0.0), knee=(1.7, 0.1), lift=0.03, sh=(-0.4, 0.8),
                         elbow=1.5, ankle=(0.5, 0.2))),
        side="alternate", view_deg=40, gap=0.0),
    "high_low_boat": _t(HIGH_BOAT, (0.5, "low", LOW_BOAT), view_deg=70, gap=0.06),
    "hip_bridge_march": _t(
        BRIDGE,
        (0.5, "march", _p(BRIDGE, hip=(1.6, 0.52), knee=(1.6, 1.67), ankle=(0.8, 1.57))),
        side="alternate", view_deg=70, gap=0.05),
    "hip_bridge_with_reach": _t(
        SUPINE_KNEES_BENT,
        (0.5, "reach", _p(BRIDGE, sh=(0.45, 2.9), elbow=0.05)),
        side="alternate", view_deg=70, gap=0.08),
    "inchworm_with_pushup": _t(
        STAND,
        (0.15, "fold", FOLD), (0.32, "plank", PLANK), (0.5, "bottom", PUSHUP_BOTTOM),
        (0.68, "plank2", PLANK), (0.85, "fold2", FOLD),
        view_deg=70, gap=0.08,
        errors=dict(head_dropping_downward=dict(kf=("plank", "bottom", "plank2")),
                    hips_below_line_of_shoulder_to_ankle=dict(kf=("plank", "bottom", "plank2")),
                    incomplete_descent=dict(kf=("bottom",), ref="plank"))),
    "jump_squat": _t(
        STAND,
        (0.35, "squat", _p(SQUAT_BOTTOM, sh=-0.3, elbow=0.2)), (0.65, "jump", _p(JUMP, sh=1.0)),
        view_deg=20, gap=0.08, errors=dict(knee_tracks_inside_line_of_foot=dict(kf=("squat",)))),
    "jumping_jacks": _t(
        STAND,
        (0.5, "open", _p(STAND, abd=0.33, sh_abd=2.9, sh=0.2, lift=0.04, foot_rot=0.35)),
        view_deg=10, gap=0.0),
    "jumping_lunges": _t(
        STAND, (0.3, "lunge", LUNGE_L), (0.7, "jump", _p(JUMP, hip=0.3, knee=0.3, sh=0.5)),
        side="alternate", view_deg=40, gap=0.02),
    "kneeling_pushup": _t(
        KNEEL_TOP, (0.5, "bottom", KNEEL_BOTTOM), view_deg=70, gap=0.08, errors=_PUSHUP_ERRORS),
    "lateral_lunge_knee_raise": _t(
        STAND,
        (0.35, "lunge", SIDE_LUNGE_L),
        (0.7, "knee", _p(STAND, hip=(1.6, 0.05), knee=(1.7, 0.05), sh=0.6, elbow=1.4)),
        side="clip", view_deg=15, gap=0.1,
        errors=dict(incomplete_descent=dict(kf=("lunge",)))),
    "mountain_climber": _t(
        PLANK, (0.5, "drive", _p(PLANK, hip=(1.5, 0.0), knee=(1.9, 0.02), ankle=(0.5, 0.32))),
        side="alternate", view_deg=70, gap=0.0),
    "plank_knee_to_elbow_on_forearms": _t(
        FOREARM_PLANK,
        (0.5, "knee", _p(FOREARM_PLANK, hip=(1.3, 0.0), abd=(0.5, 0.05), knee=(1.9, 0.02))),
        side="alternate", view_deg=70, gap=0.05),
    "plank_saw_on_forearms": _t(
        FOREARM_PLANK, (0.5, "back", _p(FOREARM_PLANK, fwd=-0.12, sh=1.85, ankle=0.6)),
        view_deg=70, gap=0.05),
    "plank_to_down_dog": _t(
        PLANK, (0.15, "plank", PLANK), (0.5, "dog", DOWNDOG), (0.85, "plank2", PLANK),
        view_deg=70, gap=0.08,
        errors=dict(hips_below_line_of_shoulder_to_ankle=dict(kf=("plank", "plank2")))),
    "plank_with_ankle_taps": _t(
        PLANK, (0.5, "tap", _p(PLANK, trunk=0.2, hip=0.25, sh=(0.25, 1.25), elbow=(0.0, 0.05))),
        side="alternate", view_deg=70, gap=0.05),
    "plyo_split_squat": _t(
        STAND, (0.4, "lunge", LUNGE_L), (0.75, "jump", _p(JUMP, sh=0.6)),
        side="alternate", view_deg=25, gap=0.03,
        errors=dict(knee_tracking_inside_midline_of_foot=dict(kf=("lunge",), side="L"),
                    torso_tilt=dict(kf=("lunge",)))),
    "power_jack": _t(
        STAND,
        (0.5, "open", _p(STAND, abd=0.45, hip=1.0, knee=1.3, trunk=0.35, sh_abd=2.8,
                         foot_rot=0.5)),
        view_deg=10, gap=0.02),
    "push_up_with_forward_reach": _t(
        PLANK,
        (0.35, "bottom", PUSHUP_BOTTOM), (0.62, "hold", PLANK),
        (0.8, "reach", _p(PLANK, sh=(3.0, 1.25), elbow=(0.0, 0.05), lat=0.04)),
        side="alternate", view_deg=70, gap=0.06,
        errors=dict(head_dropping_downward=dict(kf=("bottom", "hold")),
                    hips_below_line_of_shoulder_to_ankle=dict(kf=("bottom", "hold", "reach")),
                    incomplete_descent=dict(kf=("bottom",)))),
    "push_ups": _t(
        PLANK, (0.5, "bottom", PUSHUP_BOTTOM), view_deg=70, gap=0.08, errors=_PUSHUP_ERRORS),
    "quadruped_with_shoulder_taps": _t(
        QUADRUPED,
        (0.5, "tap", _p(QUADRUPED, sh=(0.4, 1.57), sh_abd=(-0.5, 0.1), elbow=(2.3, 0.05),
                        lat=-0.05)),
        side="alternate", view_deg=60, gap=0.04),
    "reverse_lunge": _t(
        STAND, (0.5, "lunge", LUNGE_L), side="alternate", view_deg=40, gap=0.1,
        errors=dict(knee_tracking_inside_midline_of_foot=dict(side="L"))),
    "reverse_lunge_rotation_alternating": _t(
        STAND, (0.5, "lunge", _p(LUNGE_L, twist=0.7, sh=1.2, elbow=1.6)),
        side="alternate", view_deg=40, gap=0.1),
    "reverse_lunge_with_rotation": _t(
        STAND, (0.5, "lunge", _p(LUNGE_L, twist=0.7, sh=1.2, elbow=1.6)),
        side="clip", view_deg=40, gap=0.1),
    "side_lunge": _t(
        STAND, (0.5, "lunge", SIDE_LUNGE_L), side="alternate", view_deg=15, gap=0.1,
        errors=dict(foot_not_facing_forward=dict(side="L"))),
    "side_squat_alternating": _t(
        STAND,
        (0.3, "step", _p(STAND, shift=0.1, abd=(0.35, 0.2))),
        (0.6, "squat", _p(STAND, shift=0.1, abd=0.35, hip=1.5, knee=1.7, trunk=0.5, sh=1.3,
                          foot_rot=0.4)),
        side="alternate", view_deg=15, gap=0.06),
    "single_leg_deadlift": _t(
        STAND,
        (0.5, "hinge", _p(STAND, pitch=1.25, hip=(0.05, 1.35), knee=(0.05, 0.2),
                          ankle=(0.3, -1.25), sh=1.25, sh_abd=0.1, elbow=0.1)),
        side="clip", view_deg=65, gap=0.12),
    "single_leg_hip_bridge": _t(
        _p(SUPINE_KNEES_BENT, hip=(1.4, 0.785), knee=(0.1, 1.57), ankle=(0.3, 1.57)),
        (0.5, "bridge", _p(BRIDGE, hip=(0.9, 0.52), knee=(0.05, 1.67), ankle=(0.3, 1.57))),
        side="clip", view_deg=70, gap=0.04),
    "speed_skater": _t(
        STAND,
        (0.25, "air", _p(STAND, lift=0.08, shift=0.1, hip=0.4, knee=0.6, trunk=0.3)),
        (0.55, "skate", _p(STAND, shift=0.25, hip=(1.1, -0.25), abd=(0.15, -0.35),
                           knee=(1.3, 1.2), trunk=0.6, sh=(0.5, 1.4), sh_abd=0.3)),
        side="alternate", view_deg=15, gap=0.0),
    "squat_thrust": _t(
        STAND, (0.25, "squat", SQUAT_HANDS), (0.5, "plank", PLANK), (0.75, "squat2", SQUAT_HANDS),
        view_deg=45, gap=0.08,
        errors=dict(hips_above_line_of_shoulder_to_ankle=dict(kf=("plank",)),
                    hips_below_line_of_shoulder_to_ankle=dict(kf=("plank",)))),
    "squats": _t(STAND, (0.5, "bottom", SQUAT_BOTTOM), view_deg=35, gap=0.12),
    "step_exercise_cardio": _t(
        STAND,
        (0.3, "up", _p(STAND, hip=(1.1, 0.05), knee=(1.3, 0.05), sh=(-0.3, 0.5), elbow=1.3)),
        (0.55, "on_step", _p(STAND, lift=0.15, sh=(0.5, -0.3), elbow=1.3)),
        (0.8, "down", _p(STAND, lift=0.05, hip=(0.05, 0.6), knee=(0.05, 0.8), elbow=1.3)),
        side="alternate", view_deg=40, gap=0.03),
    "sumo_squat": _t(
        SUMO_STAND, (0.12, "set", SUMO_STAND), (0.5, "bottom", SUMO_BOTTOM),
        (0.88, "set2", SUMO_STAND),
        view_deg=15, gap=0.1,
        errors=dict(hips_too_high=dict(kf=("bottom",), ref="set"))),
    "supermans": _t(
        PRONE, (0.5, "lift", _p(PRONE, trunk=-0.35, hip=-0.3, neck=-0.2, sh=3.0)),
        view_deg=70, gap=0.1),
    "t_push_up": _t(
        PLANK,
        (0.3, "bottom", PUSHUP_BOTTOM), (0.55, "hold", PLANK),
        (0.78, "t", _p(PLANK, twist=1.3, sh=(1.25, 1.25), sh_abd=(1.57, 0.12), elbow=0.05)),
        side="alternate", view_deg=60, gap=0.06,
        errors=dict(head_dropping_downward=dict(kf=("bottom", "hold")),
                    hips_below_line_of_shoulder_to_ankle=dict(kf=("bottom", "hold", "t")),
                    incomplete_descent=dict(kf=("bottom",)))),
    "v_up_single_leg_alternating_touch": _t(
        _p(SUPINE, sh=2.8),
        (0.5, "v", _p(SUPINE, trunk=0.9, hip=(1.5, 0.1), knee=(0.1, 0.05), sh=(1.3, 1.0),
                      neck=0.2)),
        side="alternate", view_deg=70, gap=0.08),
}

#: Range-of-motion errors: ("rom", excursion lost per severity level).
#: Posture errors: ("dof", {posture key: offset per severity level}).
_EFFECTS: dict[str, tuple] = {
    "incomplete_descent": ("rom", 0.19),
    "incomplete_descent_two": ("rom", 0.19),
    "incomplete_reach": ("rom", 0.19),
    "knee_not_high_enough": ("rom", 0.19),
    "head_dropping_downward": ("dof", {"neck": 0.22}),
    "hips_below_line_of_shoulder_to_ankle": ("dof", {"trunk": -0.09, "hip": -0.09}),
    "hips_above_line_of_shoulder_to_ankle": ("dof", {"trunk": 0.1, "hip": 0.1}),
    "hips_rising": ("dof", {"trunk": 0.1, "hip": 0.1}),
    "knee_inside_midline_of_foot": ("dof", {"valgus": 0.022}),
    "torso_tilt": ("dof", {"trunk": 0.11}),
    "rounded_back": ("dof", {"neck": 0.14, "trunk": 0.05, "sh": 0.1}),
    "head_forward_of_knees": ("dof", {"trunk": 0.1, "neck": 0.04}),
    "heels_off_floor": ("dof", {"ankle": 0.14}),
    "foot_not_facing_forward": ("dof", {"foot_rot": 0.22}),
    "shoulders_uneven": ("dof", {"twist": 0.12, "lat": 0.05}),
    "feet_too_close_together": ("dof", {"abd": -0.07, "foot_rot": -0.08}),
    "knees_touch_the_floor": ("dof", {"knee": 0.3, "hip": 0.15}),
}

# Only joint angles get per-repetition jitter; travel and flight stay as templated.
_JITTER_MASK = np.ones(sk.N_DOF)
_JITTER_MASK[[sk.DOF_LIFT, sk.DOF_SHIFT_FWD, sk.DOF_SHIFT_LAT, sk.DOF_VALGUS_L,
              sk.DOF_VALGUS_R]] = 0.0
_J = {name: i for i, name in enumerate(sk.JOINT_NAMES)}
_NOISE_GAIN = np.ones(sk.N_JOINTS)
_NOISE_GAIN[[_J[n] for n in ("left_wrist", "right_wrist", "left_ankle", "right_ankle",
                             "left_big_toe", "right_big_toe", "left_small_toe",
                             "right_small_toe", "left_heel", "right_heel")]] = 1.4
_DROP_GAIN = np.ones(sk.N_JOINTS)
_DROP_GAIN[[_J[n] for n in ("left_ear", "right_ear", "left_big_toe", "right_big_toe",
                            "left_small_toe", "right_small_toe", "left_heel",
                            "right_heel")]] = 2.0


@dataclass(frozen=True)
class _CompiledMotion:
    times: np.ndarray  # (K + 2,) phases 0, u_1..u_K, 1
    postures: np.ndarray  # (K + 2, N_DOF) rest, keyframes, rest
    side: str
    view: float  # radians
    ops: tuple  # per error type of the exercise: (kind, kf indices, ref index, delta or coef)


def _compile(spec: ExerciseSpec, template: MotionTemplate) -> _CompiledMotion:
    names = ["rest"] + [name for _, name, _ in template.keyframes]
    times = np.array([0.0] + [u for u, _, _ in template.keyframes] + [1.0])
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"{spec.slug}: keyframe phases must increase inside (0, 1)")
    rest = _vector(template.rest)
    postures = np.stack([rest] + [_vector(p) for _, _, p in template.keyframes] + [rest])
    ops = []
    for error in spec.error_types:
        slug = error.code.split("__", 1)[1]
        where = template.errors.get(slug, {})
        kf = tuple(names.index(n) for n in where.get("kf", names[1:]))
        ref = names.index(where.get("ref", "rest"))
        kind, param = _EFFECTS[error.generic_name]
        if kind == "dof":
            delta = _vector(param)
            if where.get("side", "both") == "L":
                delta[[r for _, r in sk._SIDED]] = 0.0
            param = delta
        ops.append((kind, np.array(kf), ref, param))
    return _CompiledMotion(times, postures, template.side, np.deg2rad(template.view_deg),
                           tuple(ops))


_COMPILED = {spec.slug: _compile(spec, MOTIONS[spec.slug]) for spec in HALO_EXERCISES}


@dataclass(frozen=True)
class ParticipantBody:
    """A participant's segment lengths (body heights) and movement style."""

    lengths: dict
    style: np.ndarray  # (N_DOF,) posture offset the participant carries into every exercise
    amplitude: float  # how far the participant moves relative to the template


def participant_body(seed_sequence: np.random.SeedSequence) -> ParticipantBody:
    """Draw a participant's anthropometry and style from its own seed sequence."""
    rng = np.random.default_rng(seed_sequence)
    scale = rng.normal(1.0, 0.035, 5)
    base = sk.SEGMENT_LENGTHS
    lengths = dict(base)
    for key in ("thigh", "shank"):
        lengths[key] = base[key] * scale[0]
    lengths["trunk"] = base["trunk"] * scale[1]
    for key in ("upper_arm", "forearm"):
        lengths[key] = base[key] * scale[2]
    lengths["shoulder_half"] = base["shoulder_half"] * scale[3]
    lengths["hip_half"] = base["hip_half"] * scale[4]
    style = np.zeros(sk.N_DOF)
    style[sk.DOF_TRUNK] = rng.normal(0.0, 0.03)
    style[sk.DOF_NECK] = rng.normal(0.0, 0.04)
    style[[sk.DOF_FOOT_ROT_L, sk.DOF_FOOT_ROT_R]] = rng.normal(0.0, 0.06)
    style[[sk.DOF_ABD_L, sk.DOF_ABD_R]] = rng.normal(0.0, 0.02)
    return ParticipantBody(lengths=lengths, style=style, amplitude=float(rng.normal(1.0, 0.04)))


_DEFAULT_BODY = ParticipantBody(lengths=dict(sk.SEGMENT_LENGTHS), style=np.zeros(sk.N_DOF),
                                amplitude=1.0)


@dataclass(frozen=True)
class ClipPose:
    """A rendered clip: ``pose`` (n_frames, 26, 2) float32 pixels, NaN where ``dropped``."""

    pose: np.ndarray
    dropped: np.ndarray  # (n_frames, 26) bool


def _frame_postures(motion, per_rep, rest, n_frames, rep_start, rep_end) -> np.ndarray:
    """Interpolate the per-repetition keyframes at every frame; rest outside repetitions."""
    dofs = np.broadcast_to(rest, (n_frames, sk.N_DOF)).copy()
    lengths = rep_end - rep_start + 1
    if lengths.size == 0:
        return dofs
    rep = np.repeat(np.arange(lengths.size), lengths)
    offset = np.arange(rep.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frames = rep_start[rep] + offset
    u = (offset + 0.5) / lengths[rep]
    times = motion.times
    seg = np.clip(np.searchsorted(times, u, side="right") - 1, 0, times.size - 2)
    w = (u - times[seg]) / (times[seg + 1] - times[seg])
    w = (w * w * (3.0 - 2.0 * w))[:, None]
    a = per_rep[rep, seg]
    b = per_rep[rep, seg + 1]
    dofs[frames] = a + w * (b - a)
    return dofs


def render_clip(
    exercise: str,
    *,
    n_frames: int,
    rep_start: np.ndarray,
    rep_end: np.ndarray,
    severity: np.ndarray | None = None,
    rng: np.random.Generator,
    body: ParticipantBody | None = None,
    fps: float = 30.0,
    noise: bool = True,
) -> ClipPose:
    """Render one clip of an exercise as 26-joint 2D pixel coordinates.

    Parameters
    ----------
    exercise : str
        Exercise slug (Table 5 identifier of seed 000).
    n_frames : int
    rep_start, rep_end : ndarray of int, shape (n_reps,)
        True first and last frame of each repetition (inclusive), increasing, inside the clip.
    severity : ndarray of int, shape (n_reps, n_error_types), optional
        True severity 0..3 of every error type of the exercise (catalogue order) per repetition;
        None means no errors.
    rng : numpy.random.Generator
        The clip's own generator: the clip depends on nothing else.
    body : ParticipantBody, optional
    fps : float
    noise : bool
        False gives the clean motion (no per-repetition variation, pixel noise or drops), for
        tests and drawings.

    Returns
    -------
    ClipPose
    """
    motion = _COMPILED[exercise]
    body = _DEFAULT_BODY if body is None else body
    rep_start = np.asarray(rep_start, dtype=np.int64)
    rep_end = np.asarray(rep_end, dtype=np.int64)
    n_reps = rep_start.size
    # All random draws happen in a fixed order, whatever `noise` says, so a clip's camera and
    # side are the same in its clean and noisy renderings.
    clip_style = rng.normal(0.0, 1.0, sk.N_DOF) * np.where(_JITTER_MASK > 0, 0.025, 0.0)
    clip_amp = rng.normal(1.0, 0.05)
    rep_amp = rng.normal(1.0, 0.04, n_reps)
    rep_jitter = rng.normal(0.0, 0.02, (n_reps, motion.times.size - 2, sk.N_DOF)) * _JITTER_MASK
    first_side = rng.integers(2)
    yaw = motion.view + rng.normal(0.0, np.deg2rad(6.0))
    facing = 1.0 if rng.random() < 0.5 else -1.0
    scale_px = rng.uniform(330.0, 470.0)
    centre = (rng.uniform(560.0, 720.0), rng.uniform(630.0, 680.0))
    sway_period = rng.uniform(3.0, 7.0) * fps
    sway_phase = rng.uniform(0.0, 2.0 * np.pi)
    noise_px = rng.uniform(0.003, 0.006) * scale_px
    frame_drop = rng.uniform(0.0, 0.02)
    joint_drop = rng.uniform(0.002, 0.015)

    if not noise:
        clip_style[:] = 0.0
        clip_amp = 1.0
        rep_amp[:] = 1.0
        rep_jitter[:] = 0.0
    style = body.style + clip_style
    rest = motion.postures[0] + style
    per_rep = np.broadcast_to(motion.postures + style, (n_reps,) + motion.postures.shape).copy()
    amp = (clip_amp * body.amplitude * rep_amp)[:, None, None]
    per_rep[:, 1:-1] = rest + (per_rep[:, 1:-1] - rest) * amp + rep_jitter

    if severity is not None and n_reps:
        severity = np.asarray(severity, dtype=np.float64).reshape(n_reps, len(motion.ops))
        for col, (kind, kf, ref, param) in enumerate(motion.ops):
            s = severity[:, col]
            if kind == "rom":
                base = per_rep[:, ref][:, None, :]
                factor = (1.0 - param * s)[:, None, None]
                per_rep[:, kf] = base + (per_rep[:, kf] - base) * factor
            else:
                per_rep[:, kf] += s[:, None, None] * param

    if motion.side == "alternate":
        # Mirror the movement, not the rest posture, so repetitions join the rest smoothly.
        odd = (np.arange(n_reps) + first_side) % 2 == 1
        per_rep[odd] = rest + sk.mirror_dofs(per_rep[odd] - rest)
    elif motion.side == "clip" and first_side:
        per_rep = sk.mirror_dofs(per_rep)
        rest = sk.mirror_dofs(rest)

    dofs = _frame_postures(motion, per_rep, rest, n_frames, rep_start, rep_end)
    t = np.arange(n_frames)
    dofs[:, sk.DOF_TRUNK] += 0.015 * np.sin(2.0 * np.pi * t / sway_period + sway_phase)

    joints = sk.forward_kinematics(dofs, body.lengths)
    joints = sk.place_on_floor(joints, dofs[:, sk.DOF_LIFT])
    pose = sk.project(joints, yaw=yaw, facing=facing, scale_px=scale_px, centre_px=centre)

    if noise:
        gain = (_NOISE_GAIN * noise_px).astype(np.float32)[None, :, None]
        pose += rng.standard_normal(pose.shape, dtype=np.float32) * gain
        dropped = rng.random((n_frames, sk.N_JOINTS), dtype=np.float32) < joint_drop * _DROP_GAIN
        dropped |= (rng.random(n_frames, dtype=np.float32) < frame_drop)[:, None]
        pose[dropped] = np.nan
    else:
        dropped = np.zeros((n_frames, sk.N_JOINTS), dtype=bool)
    return ClipPose(pose=pose, dropped=dropped)
