"""Schemathesis against every operation of ``/api/schema/``, once per role, on a live local server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_st CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
        python bench/run_schemathesis.py --max-examples 15

Seeds a small world (a synthetic dataset, one user per role with an API token, the annotator and
reviewer holding assignments on its clips), starts gunicorn on 127.0.0.1, and runs
``schemathesis run`` with the ``not_a_server_error`` check for anonymous, annotator, reviewer,
curator and admin in turn. Prints, per role, the number of generated test cases and of server
errors, and writes the reports to ``test-output/schemathesis/<role>/``. Exits non-zero when any
server error was found. Needs a migrated PostgreSQL database of its own (it writes to it).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

ROLES = ("anonymous", "annotator", "reviewer", "curator", "admin")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def seed_world(name: str) -> dict:
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from annotation.models import Assignment
    from datasets.models import Clip, Dataset
    from tests.factories import UserFactory

    call_command("make_demo_data", "--dataset", name, "--clips", "6", "--seed", "1", verbosity=0)
    dataset = Dataset.objects.get(name=name)
    tokens = {}
    for role in ROLES[1:]:
        Group.objects.get_or_create(name=role)
        user = UserFactory(username=f"{name}-{role}", roles=[role])
        tokens[role] = Token.objects.create(user=user).key
        for clip in Clip.objects.filter(dataset=dataset)[:4]:
            for kind in Assignment.Kind.values:
                Assignment.objects.get_or_create(annotator=user, clip=clip, kind=kind)
    return {"dataset": dataset.pk, "tokens": tokens}


def run_role(*, role: str, base_url: str, token: str | None, max_examples: int, out: Path, seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(SCHEMATHESIS), "run", f"{base_url}/api/schema/", "--url", f"{base_url}", "--checks",
           "not_a_server_error", "--max-examples", str(max_examples), "--seed", str(seed), "--workers", "2",
           "--no-shrink", "--phases", "examples,coverage,fuzzing", "--request-timeout", "60",
           "--generation-database", "none", "--report", "junit,ndjson", "--report-dir", str(out),
           "--suppress-health-check", "all", "--no-color", "--warnings", "off"]
    if token:
        cmd += ["-H", f"Authorization: Token {token}"]
    # Hypothesis keeps its caches under test-output/, not in the source tree.
    env = dict(os.environ, HYPOTHESIS_STORAGE_DIRECTORY=str(ROOT / "test-output" / "hypothesis"))
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600, env=env)
    (out / "stdout.txt").write_text(result.stdout + "\n" + result.stderr)
    return {"role": role, "exit": result.returncode, **summarise(out, result.stdout)}


def summarise(out: Path, stdout: str) -> dict:
    """Generated cases and server errors, from schemathesis' summary (and the ndjson events)."""
    generated = re.search(r"(\d+) generated", stdout)
    failing = sorted(set(re.findall(r"^_+ ((?:GET|POST|PUT|PATCH|DELETE) \S+) _+$", stdout, flags=re.M)))
    server_errors = len(re.findall(r"Server error", stdout))
    for path in out.glob("*.ndjson"):
        server_errors = max(server_errors, len(re.findall(r'"status_code":\s*5\d\d', path.read_text())))
    return {"generated_cases": int(generated.group(1)) if generated else 0, "server_error_responses": server_errors,
            "failing_operations": failing}


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=15)
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    # Fuzzed logins must not lock the fuzzer out of the API it is testing.
    os.environ.setdefault("FORMLAB_LOGIN_FAILURES_PER_IP", "1000000")
    os.environ.setdefault("FORMLAB_LOGIN_FAILURES_PER_USER", "1000000")
    import django

    django.setup()
    from django.conf import settings

    import load_annotators

    world = seed_world(f"st-{uuid.uuid4().hex[:6]}")
    results = []
    with load_annotators.server(db_name=settings.DATABASES["default"]["NAME"], workers=2, threads=4) as base_url:
        for role in args.roles.split(","):
            out = ROOT / "test-output" / "schemathesis" / role
            results.append(run_role(role=role, base_url=base_url, token=world["tokens"].get(role),
                                    max_examples=args.max_examples, out=out, seed=args.seed))
            print(json.dumps(results[-1]), flush=True)
    total = {"generated_cases": sum(r["generated_cases"] for r in results),
             "server_error_responses": sum(r["server_error_responses"] for r in results)}
    print(json.dumps({"total": total}))
    return 1 if total["server_error_responses"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
