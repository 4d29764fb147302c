"""Reading and checking pose arrays: ``.npy`` files of shape (frames, joints, 2 or 3).

Never unpickles: ``np.load(..., allow_pickle=False)`` refuses object arrays.
"""
import hashlib
import io

import numpy as np

NPY_MAGIC = b"\x93NUMPY"


class PoseError(ValueError):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def load_pose(data: bytes, *, expected_joints: int | None, max_frames: int, max_bytes: int,
              expected_dims: int | None = None) -> np.ndarray:
    """Parse and validate one pose file; return it as C-contiguous float32.

    NaN marks a dropped joint and is allowed; +/-inf is not.
    """
    if len(data) > max_bytes:
        raise PoseError("pose_too_large", f"The file is {len(data)} bytes; the limit is {max_bytes}.")
    if not data.startswith(NPY_MAGIC):
        raise PoseError("pose_not_npy", "The file is not a NumPy .npy file.")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise PoseError("pose_pickle", "Pickled (object) arrays are refused.") from None
        raise PoseError("pose_unreadable", f"The .npy file could not be read: {exc}") from None
    except (OSError, EOFError) as exc:
        raise PoseError("pose_unreadable", f"The .npy file could not be read: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiu":
        raise PoseError("pose_dtype", f"Expected a numeric float array, got dtype {getattr(array, 'dtype', '?')}.")
    if array.ndim != 3 or array.shape[2] not in (2, 3):
        raise PoseError("pose_shape", f"Expected shape (frames, joints, 2 or 3), got {array.shape}.")
    frames, joints, dims = array.shape
    if expected_dims is not None and dims != expected_dims:
        raise PoseError("pose_dims", f"The exercise stores {expected_dims}-D joints; the file has {dims}.")
    if expected_joints is not None and joints != expected_joints:
        raise PoseError("pose_joint_count", f"The exercise has {expected_joints} joints; the file has {joints}.")
    if frames < 1:
        raise PoseError("pose_empty", "The pose array has no frames.")
    if frames > max_frames:
        raise PoseError("pose_too_many_frames", f"{frames} frames; the limit is {max_frames}.")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if np.isinf(array).any():
        raise PoseError("pose_not_finite", "The pose array holds +/-inf values (NaN marks dropped joints).")
    return array


def pose_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
