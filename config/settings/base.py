"""Settings shared by every environment, with safe development defaults.

``DATABASE_URL`` and ``CELERY_BROKER_URL`` choose the backends. Unset, FormLab runs embedded:
a SQLite file in ``var/`` and Celery over kombu's filesystem transport in ``var/celery-broker``.
"""
from pathlib import Path

from config.env import BASE_DIR, env

VAR_DIR = Path(env("FORMLAB_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("SECRET_KEY", default="formlab-insecure-development-key-change-me-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "datasets",
    "annotation",
    "kg",
    "tasks",
    "labelling_ui",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.LoginRateLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DomainErrorMiddleware",
]

# Security headers sent in every environment (production adds HSTS, secure cookies, SSL redirect).
# config.middleware adds Content-Security-Policy and Permissions-Policy.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The pages read the CSRF token from a <meta> tag, never from the cookie.
CSRF_COOKIE_HTTPONLY = True

# The cache holds login-failure counters and DRF throttle counts. LocMem is per process: with
# several web processes set CACHE_URL=redis://127.0.0.1:6379/2 so they share the counters.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://formlab")}

# Password logins: at most FORMLAB_LOGIN_FAILURES_PER_USER failures per (address, username) and
# FORMLAB_LOGIN_FAILURES_PER_IP per address within FORMLAB_LOGIN_WINDOW_S; then 429.
FORMLAB_LOGIN_PATHS = ("/accounts/login/", "/admin/login/", "/api/auth/token/")
FORMLAB_LOGIN_WINDOW_S = env.int("FORMLAB_LOGIN_WINDOW_S", default=900)
FORMLAB_LOGIN_FAILURES_PER_USER = env.int("FORMLAB_LOGIN_FAILURES_PER_USER", default=5)
FORMLAB_LOGIN_FAILURES_PER_IP = env.int("FORMLAB_LOGIN_FAILURES_PER_IP", default=50)
# Audit entries take the client address from REMOTE_ADDR unless a trusted proxy sets X-Forwarded-For.
FORMLAB_TRUST_X_FORWARDED_FOR = env.bool("FORMLAB_TRUST_X_FORWARDED_FOR", default=False)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_SQLITE_URL = f"sqlite:///{VAR_DIR / 'formlab.sqlite3'}"


def embedded_sqlite_options(database: dict) -> dict:
    """The options an SQLite database needs to serve several web workers at once (also used by
    the production settings). WAL lets readers run beside the one writer; IMMEDIATE takes the
    write lock at BEGIN so two writers queue on the busy timeout instead of failing mid-way."""
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
        }
    return database


DATABASES = {"default": embedded_sqlite_options(env.db("DATABASE_URL", default=_SQLITE_URL))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("FORMLAB_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "config.token_auth.TokenRolesAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "10/min"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "FormLab API",
    "DESCRIPTION": "Datasets, annotation, label aggregation, knowledge-graph scoring and jobs "
    "for fitness action-quality data.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"AssignmentKindEnum": "annotation.models.assignments.Assignment.Kind"},
}

# Celery. Job state lives on the Job row, so task results are not stored.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
# Redis: a message taken by a worker that dies unacknowledged goes back to the queue after the
# visibility timeout (docs/reliability.md). A running job heartbeats, so a message redelivered
# while its first worker is still alive never starts a second copy of the job.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}


def filesystem_broker_options(folder: Path) -> dict:
    """Transport options of kombu's filesystem broker in ``folder`` (its subfolders are made).
    It has no visibility timeout: a message a whole worker took with it is gone, and only the
    stuck-job check brings its job back (docs/reliability.md)."""
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control"),
            "store_processed": False}


if CELERY_BROKER_URL.startswith("filesystem"):
    # CELERY_BROKER_DIR moves the embedded broker's folder (the fault tests use a temporary one).
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(
        Path(env("CELERY_BROKER_DIR", default=str(VAR_DIR / "celery-broker"))))
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=4 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Run `celery -A config beat` (or a worker with -B) for the periodic stuck-job check.
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-jobs": {"task": "tasks.requeue_stuck_jobs", "schedule": 300.0},
}

# Job robustness (tasks/services.py, docs/reliability.md): a running job touches heartbeat_at
# every FORMLAB_JOB_HEARTBEAT_S; a job whose heartbeat is older than FORMLAB_JOB_STALE_AFTER_S
# lost its worker and is re-queued, at most FORMLAB_JOB_MAX_ATTEMPTS attempts in all.
FORMLAB_JOB_HEARTBEAT_S = env.float("FORMLAB_JOB_HEARTBEAT_S", default=30.0)
FORMLAB_JOB_STALE_AFTER_S = env.float("FORMLAB_JOB_STALE_AFTER_S", default=600.0)
FORMLAB_JOB_MAX_ATTEMPTS = env.int("FORMLAB_JOB_MAX_ATTEMPTS", default=3)
# A queued job not started after this long is re-sent to the broker (a broker restart may have
# dropped its message; a duplicate message is harmless).
FORMLAB_JOB_QUEUED_RESEND_S = env.float("FORMLAB_JOB_QUEUED_RESEND_S", default=900.0)
# Extra modules that register job kinds (plugins; the fault tests register slow kinds this way).
FORMLAB_EXTRA_JOB_MODULES = env.list("FORMLAB_EXTRA_JOB_MODULES", default=[])

# Pose uploads: (frames, joints, 2 or 3) float32 .npy files.
FORMLAB_POSE_MAX_FRAMES = env.int("FORMLAB_POSE_MAX_FRAMES", default=20_000)
FORMLAB_POSE_MAX_BYTES = env.int("FORMLAB_POSE_MAX_BYTES", default=32 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
# Any multipart body (config.middleware.RequestSizeLimitMiddleware answers 413 above it).
FORMLAB_MAX_UPLOAD_BYTES = env.int("FORMLAB_MAX_UPLOAD_BYTES", default=FORMLAB_POSE_MAX_BYTES + 4 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
