from tasks.models.jobs import Job

__all__ = ["Job"]
