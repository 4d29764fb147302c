"""Who is acting right now, for audit entries written deep inside services and signals.

A contextvar holds the current actor: set per request by ``audit.middleware.AuditContextMiddleware``,
per job by ``tasks.services.job_execute`` and per management command by ``audit_context(...)``.
The request's user is read lazily, when an entry is written: DRF authenticates token requests
inside the view, after the middleware ran.
"""
import contextlib
import sys
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditContext:
    source: str
    request: object | None = None
    user: object | None = None
    ip_address: str | None = None
    user_agent: str = ""

    def actor(self):
        user = self.user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return user


_current: ContextVar[AuditContext | None] = ContextVar("formlab_audit_context", default=None)


def current() -> AuditContext:
    ctx = _current.get()
    if ctx is not None:
        return ctx
    return AuditContext(source=_process_source())


@contextlib.contextmanager
def audit_context(*, source: str, user=None, request=None, ip_address=None, user_agent: str = ""):
    token = _current.set(AuditContext(source=source[:200], request=request, user=user,
                                      ip_address=ip_address, user_agent=user_agent[:255]))
    try:
        yield
    finally:
        _current.reset(token)


def _process_source() -> str:
    # Outside a request or a job: a management command or a shell. Name the command.
    argv = sys.argv or []
    if len(argv) >= 2 and argv[0].endswith("manage.py"):
        return f"command {argv[1]}"[:200]
    return "system"
