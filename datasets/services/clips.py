"""Creating clips from uploaded pose arrays."""
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from config.exceptions import DomainError
from datasets.core.pose_io import PoseError, content_hash, load_pose, pose_bytes
from datasets.models import Clip, Dataset, Exercise, Participant


def pose_validate(*, data: bytes, exercise: Exercise):
    """Return the checked float32 array, or raise a DomainError with the pose_* code."""
    try:
        return load_pose(
            data, expected_joints=exercise.joint_count, expected_dims=exercise.dims,
            max_frames=settings.FORMLAB_POSE_MAX_FRAMES, max_bytes=settings.FORMLAB_POSE_MAX_BYTES,
        )
    except PoseError as exc:
        raise DomainError(exc.detail, code=exc.code, fields={"pose_file": [exc.detail]}) from None


def clip_create(*, dataset: Dataset, exercise: Exercise, external_id: str, fps: float,
                pose_data: bytes, participant: Participant | None = None, source: str = "upload") -> Clip:
    """Validate everything first; then store the array and the row. A failed insert removes the file."""
    if exercise.dataset_id != dataset.pk:
        raise DomainError("The exercise belongs to another dataset.", code="exercise_mismatch")
    if participant is not None and participant.dataset_id != dataset.pk:
        raise DomainError("The participant belongs to another dataset.", code="participant_mismatch")
    if Clip.objects.filter(dataset=dataset, external_id=external_id).exists():
        raise DomainError(f"Clip {external_id!r} already exists in {dataset.name}.", code="clip_exists",
                          status_code=409)
    array = pose_validate(data=pose_data, exercise=exercise)
    data = pose_bytes(array)
    clip = Clip(dataset=dataset, exercise=exercise, participant=participant, external_id=external_id,
                fps=fps, frame_count=array.shape[0], content_hash=content_hash(data), source=source)
    clip.pose_file.save(f"{external_id}.npy", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            clip.save()
    except Exception:
        clip.pose_file.delete(save=False)
        raise
    return clip
