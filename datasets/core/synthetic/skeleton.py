"""A 26-joint body model and its forward kinematics, vectorised over frames.

Halo Trainer (seed 000, Sec. 4) feeds its transformers 2D landmarks of 26 joints from a
ResNet pose model (Xiao et al.). The paper does not list the joints; we use the Halpe-26 layout
(AlphaPose "Halpe FullBody", body part), which is the common 26-keypoint body model: the 17 COCO
keypoints plus head top, neck, pelvis centre, and big toe / small toe / heel of each foot.
The feet matter here: "heels off floor" and "foot not facing forward" are Halo error types.

Coordinates
-----------
The kinematics work in body heights (a standing participant is about 1.0 tall) in a right-handed
world frame: ``x`` = the participant's left, ``y`` = up, ``z`` = the direction the participant
faces when upright. `project` turns that into image pixels (x right, y down).

Degrees of freedom
------------------
A posture is a vector of ``N_DOF`` numbers (angles in radians, offsets in body heights), indexed
by the ``DOF_*`` constants. Limb angles of the left and right side are separate entries so
`mirror_dofs` can swap them for alternating exercises:

- ``PITCH`` turns the whole body forward about the pelvis (0 upright, +pi/2 prone, -pi/2 supine);
- trunk flexion / lateral bend / twist, neck flexion (head towards the chest);
- per side: hip flexion and abduction, knee flexion, ankle plantar flexion (foot angle in the
  pelvis frame: 0 = sole flat when upright, > 0 = heel up), foot external rotation, shoulder
  flexion and abduction (relative to the trunk), elbow flexion, knee valgus (inward knee offset);
- ``LIFT`` (flight height of a jump), ``SHIFT_FWD`` and ``SHIFT_LAT`` (travel across the floor).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BONES",
    "DOF_NAMES",
    "JOINT_NAMES",
    "LEFT_RIGHT_PAIRS",
    "N_DOF",
    "N_JOINTS",
    "SEGMENT_LENGTHS",
    "forward_kinematics",
    "mirror_dofs",
    "place_on_floor",
    "project",
]

#: Halpe-26 body keypoints, in Halpe order.
JOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "head",  # top of the head
    "neck",
    "hip",  # pelvis centre, between the hip joints
    "left_big_toe",
    "right_big_toe",
    "left_small_toe",
    "right_small_toe",
    "left_heel",
    "right_heel",
)
N_JOINTS = len(JOINT_NAMES)
_J = {name: i for i, name in enumerate(JOINT_NAMES)}

#: (left, right) joint index pairs: swap them (and negate x) to mirror a pose.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (_J[name], _J["right" + name[4:]]) for name in JOINT_NAMES if name.startswith("left")
)

#: Joint index pairs to draw as bones (Halpe-26 body connections).
BONES: tuple[tuple[int, int], ...] = tuple(
    (_J[a], _J[b])
    for a, b in (
        ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
        ("right_eye", "right_ear"), ("head", "neck"), ("nose", "neck"),
        ("neck", "left_shoulder"), ("neck", "right_shoulder"),
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("neck", "hip"), ("hip", "left_hip"), ("hip", "right_hip"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
        ("left_ankle", "left_heel"), ("left_ankle", "left_big_toe"),
        ("left_ankle", "left_small_toe"), ("left_big_toe", "left_small_toe"),
        ("right_ankle", "right_heel"), ("right_ankle", "right_big_toe"),
        ("right_ankle", "right_small_toe"), ("right_big_toe", "right_small_toe"),
    )
)

DOF_NAMES: tuple[str, ...] = (
    "pitch", "trunk_flex", "trunk_lat", "trunk_twist", "neck_flex",
    "hip_flex_l", "hip_flex_r", "hip_abd_l", "hip_abd_r", "knee_flex_l", "knee_flex_r",
    "ankle_pf_l", "ankle_pf_r", "foot_rot_l", "foot_rot_r",
    "shoulder_flex_l", "shoulder_flex_r", "shoulder_abd_l", "shoulder_abd_r",
    "elbow_flex_l", "elbow_flex_r", "valgus_l", "valgus_r",
    "lift", "shift_fwd", "shift_lat",
)
N_DOF = len(DOF_NAMES)
(DOF_PITCH, DOF_TRUNK, DOF_TRUNK_LAT, DOF_TWIST, DOF_NECK, DOF_HIP_L, DOF_HIP_R, DOF_ABD_L,
 DOF_ABD_R, DOF_KNEE_L, DOF_KNEE_R, DOF_ANKLE_L, DOF_ANKLE_R, DOF_FOOT_ROT_L, DOF_FOOT_ROT_R,
 DOF_SH_L, DOF_SH_R, DOF_SH_ABD_L, DOF_SH_ABD_R, DOF_ELBOW_L, DOF_ELBOW_R, DOF_VALGUS_L,
 DOF_VALGUS_R, DOF_LIFT, DOF_SHIFT_FWD, DOF_SHIFT_LAT) = range(N_DOF)

_SIDED = (
    (DOF_HIP_L, DOF_HIP_R), (DOF_ABD_L, DOF_ABD_R), (DOF_KNEE_L, DOF_KNEE_R),
    (DOF_ANKLE_L, DOF_ANKLE_R), (DOF_FOOT_ROT_L, DOF_FOOT_ROT_R), (DOF_SH_L, DOF_SH_R),
    (DOF_SH_ABD_L, DOF_SH_ABD_R), (DOF_ELBOW_L, DOF_ELBOW_R), (DOF_VALGUS_L, DOF_VALGUS_R),
)
_MIRROR_PERM = np.arange(N_DOF)
for _l, _r in _SIDED:
    _MIRROR_PERM[_l], _MIRROR_PERM[_r] = _r, _l
_MIRROR_SIGN = np.ones(N_DOF)
_MIRROR_SIGN[[DOF_TRUNK_LAT, DOF_TWIST, DOF_SHIFT_LAT]] = -1.0

#: Segment lengths in body heights (Winter's anthropometric proportions, rounded).
SEGMENT_LENGTHS: dict[str, float] = {
    "trunk": 0.29,  # pelvis centre to neck
    "head": 0.17,  # neck to head top
    "shoulder_half": 0.125,
    "upper_arm": 0.186,
    "forearm": 0.146,
    "hip_half": 0.085,
    "thigh": 0.245,
    "shank": 0.246,
    "foot": 0.15,
    "ankle_height": 0.045,
}


def mirror_dofs(dofs: np.ndarray) -> np.ndarray:
    """Swap left and right in postures of shape (..., N_DOF)."""
    return dofs[..., _MIRROR_PERM] * _MIRROR_SIGN


def forward_kinematics(dofs: np.ndarray, lengths: dict[str, float] | None = None) -> np.ndarray:
    """Joint positions of postures.

    Parameters
    ----------
    dofs : ndarray, shape (n_frames, N_DOF)
    lengths : dict, optional
        Segment lengths in body heights; defaults to `SEGMENT_LENGTHS`.

    Returns
    -------
    ndarray of float32, shape (n_frames, N_JOINTS, 3)
        World coordinates (x left, y up, z forward), pelvis at the origin before ``SHIFT_*``;
        not yet placed on the floor (see `place_on_floor`).
    """
    seg = SEGMENT_LENGTHS if lengths is None else lengths
    n = dofs.shape[0]
    # float32 throughout: ample for pixels, and numpy's float32 sin/cos are SIMD (6x faster).
    # Built as (joint, coordinate, frame): every vector below is a contiguous (3, n) block and
    # every angle series an (n,) row that broadcasts against it; frame-major on return.
    out = np.empty((N_JOINTS, 3, n), dtype=np.float32)
    d = np.ascontiguousarray(np.asarray(dofs).T, dtype=np.float32)
    cos, sin = np.cos(d), np.sin(d)  # all trig at once
    zeros = np.zeros(n, dtype=np.float32)

    # Trunk frame: up along the spine, forward out of the chest, lateral to the left shoulder.
    cb_t = cos[DOF_TRUNK_LAT]
    up = np.stack([sin[DOF_TRUNK_LAT], cos[DOF_TRUNK] * cb_t, sin[DOF_TRUNK] * cb_t])
    lat = np.stack([cos[DOF_TWIST], zeros, -sin[DOF_TWIST]])
    lat -= (lat * up).sum(axis=0) * up
    lat /= np.sqrt((lat * lat).sum(axis=0))
    fwd = np.stack([
        lat[1] * up[2] - lat[2] * up[1],
        lat[2] * up[0] - lat[0] * up[2],
        lat[0] * up[1] - lat[1] * up[0],
    ])
    neck = seg["trunk"] * up
    out[_J["hip"]] = 0.0
    out[_J["neck"]] = neck

    cc, sc = cos[DOF_NECK], sin[DOF_NECK]
    head_up = cc * up + sc * fwd
    head_fwd = cc * fwd - sc * up
    centre = neck + 0.52 * seg["head"] * head_up
    out[_J["head"]] = neck + seg["head"] * head_up
    out[_J["nose"]] = centre + 0.05 * head_fwd - 0.01 * head_up
    for side, eye, ear in ((1.0, "left_eye", "left_ear"), (-1.0, "right_eye", "right_ear")):
        out[_J[eye]] = centre + 0.04 * head_fwd + 0.015 * head_up + side * 0.03 * lat
        out[_J[ear]] = centre + 0.005 * head_up + side * 0.07 * lat

    for side, s in ((1.0, "left"), (-1.0, "right")):
        k = 0 if side > 0 else 1
        # Arms hang from the trunk frame: flexion swings them forward/up, abduction sideways.
        shoulder = neck - 0.02 * up + side * seg["shoulder_half"] * lat
        ca, sa = cos[DOF_SH_ABD_L + k], sin[DOF_SH_ABD_L + k]
        c_phi, s_phi = cos[DOF_SH_L + k], sin[DOF_SH_L + k]
        c_el, s_el = cos[DOF_ELBOW_L + k], sin[DOF_ELBOW_L + k]
        out_arm = side * sa * lat
        upper = (s_phi * ca) * fwd - (c_phi * ca) * up + out_arm
        # Forearm angle phi + elbow, by the angle-sum identities.
        c_fore, s_fore = c_phi * c_el - s_phi * s_el, s_phi * c_el + c_phi * s_el
        fore = (s_fore * ca) * fwd - (c_fore * ca) * up + out_arm
        elbow_pos = shoulder + seg["upper_arm"] * upper
        out[_J[f"{s}_shoulder"]] = shoulder
        out[_J[f"{s}_elbow"]] = elbow_pos
        out[_J[f"{s}_wrist"]] = elbow_pos + seg["forearm"] * fore

        # Legs hang from the pelvis frame (the body axes before PITCH).
        cb, sb = cos[DOF_ABD_L + k], side * sin[DOF_ABD_L + k]
        c_th, s_th = cos[DOF_HIP_L + k], sin[DOF_HIP_L + k]
        c_kn, s_kn = cos[DOF_KNEE_L + k], sin[DOF_KNEE_L + k]
        # Shank angle theta - knee flexion, by the angle-difference identities.
        c_sh, s_sh = c_th * c_kn + s_th * s_kn, s_th * c_kn - c_th * s_kn
        hip_x = side * seg["hip_half"]
        knee = np.stack([
            hip_x + seg["thigh"] * sb,
            -seg["thigh"] * c_th * cb,
            seg["thigh"] * s_th * cb,
        ])
        ankle = knee + seg["shank"] * np.stack([sb, -c_sh * cb, s_sh * cb])
        # Valgus: the knee caves towards the midline, the foot stays where it is.
        knee[0] -= side * d[DOF_VALGUS_L + k]
        cp, sp = cos[DOF_ANKLE_L + k], sin[DOF_ANKLE_L + k]
        cr, sr = cos[DOF_FOOT_ROT_L + k], sin[DOF_FOOT_ROT_L + k]
        toe_dir = np.stack([side * sr * cp, -sp, cr * cp])
        foot_up = np.stack([side * sr * sp, cp, cr * sp])
        foot_out = np.stack([side * cr, zeros, -sr])
        sole = ankle - seg["ankle_height"] * foot_up
        out[_J[f"{s}_hip"]] = 0.0
        out[_J[f"{s}_hip"], 0] = hip_x
        out[_J[f"{s}_knee"]] = knee
        out[_J[f"{s}_ankle"]] = ankle
        out[_J[f"{s}_heel"]] = sole - 0.25 * seg["foot"] * toe_dir
        out[_J[f"{s}_big_toe"]] = sole + 0.75 * seg["foot"] * toe_dir - 0.012 * foot_out
        out[_J[f"{s}_small_toe"]] = sole + 0.62 * seg["foot"] * toe_dir + 0.03 * foot_out

    # Whole-body pitch about the pelvis (x axis), then travel across the floor.
    cp, sp = cos[DOF_PITCH], sin[DOF_PITCH]
    y, z = out[:, 1].copy(), out[:, 2].copy()
    out[:, 1] = y * cp - z * sp
    out[:, 2] = y * sp + z * cp
    out[:, 0] += d[DOF_SHIFT_LAT]
    out[:, 2] += d[DOF_SHIFT_FWD]
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def place_on_floor(joints: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Put the lowest joint of every frame on the floor (y = 0), then raise by ``lift``.

    Whatever touches the ground (soles, hands, knees, back) is the lowest joint, so one rule
    serves standing, plank and lying exercises; ``lift`` is the flight height of jumps.
    """
    joints[..., 1] -= joints[..., 1].min(axis=1, keepdims=True)
    joints[..., 1] += np.asarray(lift)[:, None]
    return joints


def project(
    joints: np.ndarray,
    *,
    yaw: float,
    facing: float,
    scale_px: float,
    centre_px: tuple[float, float],
    perspective: float = 0.12,
) -> np.ndarray:
    """Project world joints to image pixels (weak perspective, y down).

    Parameters
    ----------
    joints : ndarray, shape (n_frames, N_JOINTS, 3)
    yaw : float
        Camera angle about the vertical axis in radians (0 = the camera faces the participant,
        pi/2 = it sees the participant's left side).
    facing : {-1.0, 1.0}
        +1 keeps the image as seen, -1 mirrors it horizontally (participant facing the other way).
    scale_px : float
        Pixels per body height.
    centre_px : (float, float)
        Image position of the world origin on the floor (pixels).
    perspective : float
        Relative size change per body height of depth: near joints look bigger, which keeps
        left/right pairs apart in side views.
    """
    # Python floats keep float32 input float32 (numpy scalars would upcast to float64).
    cy, sy = float(np.cos(yaw)), float(np.sin(yaw))
    x, y, z = joints[..., 0], joints[..., 1], joints[..., 2]
    u = x * cy + z * sy
    m = (-x * sy + z * cy) * float(perspective * scale_px) + float(scale_px)
    out = np.empty(joints.shape[:-1] + (2,), dtype=joints.dtype)
    out[..., 0] = u * m * float(facing) + float(centre_px[0])
    out[..., 1] = float(centre_px[1]) - y * m
    return out
