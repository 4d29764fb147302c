"""Settings for pytest. Integration tests start real Celery workers against the test database.

``FORMLAB_WORKER_DB_NAME`` is set by the test suite for the worker processes it starts, so they
open the test database pytest-django created rather than the main one.
"""
from pathlib import Path

from config.settings.base import *  # noqa: F401,F403
from config.settings.base import CELERY_BROKER_URL, DATABASES, VAR_DIR, env, filesystem_broker_options

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(env("FORMLAB_MEDIA_ROOT", default=str(VAR_DIR / "test-media")))

_worker_db = env("FORMLAB_WORKER_DB_NAME", default="")
if _worker_db:
    DATABASES["default"]["NAME"] = _worker_db

if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(
        Path(env("CELERY_BROKER_DIR", default=str(VAR_DIR / "test-celery-broker"))))
