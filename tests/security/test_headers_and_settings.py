"""Security headers on every response; production settings: secure cookies, HSTS, no debug page,
secrets only from the environment, ``check --deploy`` clean for the security checks."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "prod-" + "k3y" * 20,
    "ALLOWED_HOSTS": "formlab.example.org",
    "DATABASE_URL": "sqlite:////tmp/formlab-rel-prod-check.sqlite3",
}


def _prod(code: str, **extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")}
    env.update(PROD_ENV, **extra)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/api/datasets/", "/api/schema/"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'self';" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_production_settings_harden_cookies_and_transport():
    result = _prod(
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE,"
        "'session_httponly': s.SESSION_COOKIE_HTTPONLY, 'csrf_httponly': s.CSRF_COOKIE_HTTPONLY,"
        "'hsts': s.SECURE_HSTS_SECONDS, 'ssl_redirect': s.SECURE_SSL_REDIRECT,"
        "'secret_from_env': s.SECRET_KEY == 'prod-' + 'k3y' * 20}))")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "debug": False, "session_secure": True, "csrf_secure": True, "session_httponly": True,
        "csrf_httponly": True, "hsts": 31536000, "ssl_redirect": True, "secret_from_env": True}


def test_production_sets_secure_cookies_and_shows_no_debug_page():
    # given: a request over HTTPS to the production settings (static files served unhashed here:
    # the manifest exists only after collectstatic)
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client, override_settings\n"
        "override_settings(STORAGES={'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},"
        " 'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}).enable()\n"
        "c = Client(HTTP_HOST='formlab.example.org')\n"
        "login = c.get('/accounts/login/', secure=True)\n"
        "missing = c.get('/no/such/page/', secure=True)\n"
        "plain = c.get('/accounts/login/')\n"
        "cookie = login.cookies.get('csrftoken')\n"
        "print(json.dumps({'csrf_secure': bool(cookie and cookie['secure']), 'csrf_httponly': bool(cookie and cookie['httponly']),"
        "'hsts': login.get('Strict-Transport-Security', ''), 'missing': missing.status_code,"
        "'debug_page': b'URLconf' in missing.content or b'Traceback' in missing.content,"
        "'http_redirect': plain.status_code, 'to': plain.get('Location', '')}))\n"
    )
    # when
    result = _prod(code)
    # then
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["csrf_secure"] and out["csrf_httponly"]
    assert out["hsts"].startswith("max-age=31536000")
    assert (out["missing"], out["debug_page"]) == (404, False)
    assert (out["http_redirect"], out["to"]) == (301, "https://formlab.example.org/accounts/login/")


def test_production_refuses_the_development_secret_key():
    result = _prod("import django; django.setup()",
                   SECRET_KEY="formlab-insecure-development-key-change-me-0123456789")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_security_checks_pass_check_deploy():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")}
    env.update(PROD_ENV)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--tag", "security",
                             "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_settings_modules_hold_no_literal_secret():
    # The only literal key is base.py's development default, which production refuses.
    prod = (ROOT / "config/settings/production.py").read_text()
    assert 'SECRET_KEY = env("SECRET_KEY")' in prod
    assert "password" not in prod.lower()


def test_production_settings_on_sqlite_keep_wal_the_busy_timeout_and_immediate_transactions():
    # Several gunicorn workers share the file: without these every concurrent write risks
    # "database is locked" instead of queueing.
    result = _prod("import django, json; django.setup(); from django.conf import settings; "
                   "from django.db import connection; "
                   "print(json.dumps(settings.DATABASES['default']['OPTIONS'])); "
                   "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])")
    assert result.returncode == 0, result.stderr
    options, journal = result.stdout.strip().splitlines()[-2:]
    assert json.loads(options) == {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                                   "timeout": 30, "transaction_mode": "IMMEDIATE"}
    assert journal == "wal"
