from tasks.models.jobs import Job
from tasks.models.runs import ModelRun

__all__ = ["Job", "ModelRun"]
