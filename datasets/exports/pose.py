"""Reading stored pose arrays for an export (never unpickling) and copying them out."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from django.core.files.storage import default_storage

from config.exceptions import DomainError
from datasets.exports.files import safe_file_stem


def read_pose(path: str) -> np.ndarray:
    """One stored ``.npy`` pose array, (frames, joints, dims) float32."""
    try:
        with default_storage.open(path, "rb") as handle:
            return np.load(io.BytesIO(handle.read()), allow_pickle=False).astype(np.float32, copy=False)
    except (OSError, ValueError) as exc:
        raise DomainError(f"Pose file {path!r} could not be read: {exc}", code="pose_file_missing") from None


def copy_pose_files(data, out: Path, *, rows) -> list[str]:
    """Write ``pose/<clip>.npy`` for the given clip rows; return the relative paths written."""
    target = out / "pose"
    target.mkdir(exist_ok=True)
    written = []
    ext, ids, paths = data.clips["external_id"], data.clips["id"], data.clips["pose_file"]
    for row in rows:
        if not paths[row]:
            continue
        name = f"{safe_file_stem(ext[row], f'clip-{ids[row]}')}.npy"
        array = read_pose(paths[row])
        with open(target / name, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
        written.append(f"pose/{name}")
    return written
