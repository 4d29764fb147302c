"""The code version recorded on every job, label set and model run."""
import functools
import os
import subprocess

from config.env import BASE_DIR


@functools.cache
def code_version() -> str:
    explicit = os.environ.get("FORMLAB_CODE_VERSION")
    if explicit:
        return explicit
    try:
        out = subprocess.run(
            ["git", "-C", str(BASE_DIR), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
