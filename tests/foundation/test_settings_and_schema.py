"""Production settings pass ``check --deploy``, refuse to start without secrets; the schema is valid."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_extra):
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' Playwright fixtures in this process.
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_extra={
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 20 + "-production-secret-that-is-long-enough-0123456789",
        "ALLOWED_HOSTS": "formlab.example.org",
        "DATABASE_URL": "sqlite:////tmp/formlab-deploy-check.sqlite3",
    })
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_settings_refuse_to_start_without_a_secret(missing):
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "s" * 60,
           "ALLOWED_HOSTS": "formlab.example.org", "DATABASE_URL": "sqlite:////tmp/x.sqlite3"}
    env[missing] = ""
    del env[missing]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={**{k: v for k, v in os.environ.items() if k not in env and k != missing}, **env},
                            timeout=120)
    assert result.returncode != 0
    assert missing in result.stderr


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/votes/submit/" in (tmp_path / "schema.yml").read_text()
