"""Bones to draw per skeleton layout (joint index pairs), for the canvas on the labelling pages.

A layout the UI does not know is drawn as joints only.
"""
from datasets.core.synthetic.skeleton import BONES as HALO26_BONES
from kg.core.pose import FLEX_JOINTS


def _by_name(names, pairs):
    index = {n: i for i, n in enumerate(names)}
    return tuple((index[a], index[b]) for a, b in pairs)


FLEX21_BONES = _by_name(FLEX_JOINTS, (
    ("head", "neck"), ("neck", "spine_shoulder"),
    ("spine_shoulder", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("right_wrist", "right_hand"),
    ("spine_shoulder", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("left_wrist", "left_hand"),
    ("spine_shoulder", "right_hip"), ("spine_shoulder", "left_hip"), ("right_hip", "left_hip"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_toe"),
    ("right_ankle", "right_heel"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_toe"), ("left_ankle", "left_heel"),
))

LAYOUTS = {
    "halo26": {"bones": [list(b) for b in HALO26_BONES], "y_down": True},
    "flex21": {"bones": [list(b) for b in FLEX21_BONES], "y_down": False},
}


def layout_for(name: str, dims: int) -> dict:
    # 3-D layouts are stored y-up (metres); 2-D ones in image pixels, y down.
    return LAYOUTS.get(name, {"bones": [], "y_down": dims == 2})
