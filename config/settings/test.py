"""Settings for pytest. Integration tests start real Celery workers against the test database.

``FORMLAB_WORKER_DB_NAME`` is set by the test suite for the worker processes it starts, so they
open the test database pytest-django created rather than the main one.
"""
from pathlib import Path

from config.settings.base import *  # noqa: F401,F403
from config.settings.base import CELERY_BROKER_URL, DATABASES, VAR_DIR, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(env("FORMLAB_MEDIA_ROOT", default=str(VAR_DIR / "test-media")))

_worker_db = env("FORMLAB_WORKER_DB_NAME", default="")
if _worker_db:
    DATABASES["default"]["NAME"] = _worker_db

if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = VAR_DIR / "test-celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
