"""Halo-scale synthetic generation: wall time, rows per second, peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/formlab_bench python bench/bench_generate_halo.py

Writes dataset ``halo`` (84,608 clips, no pose) unless ``--dataset``/``--clips`` say otherwise;
an existing dataset of that name is deleted first. Prints the command's JSON figures.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="halo")
    parser.add_argument("--clips", type=int, default=84_608)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("warning: DATABASE_URL is not PostgreSQL; the goal is stated for PostgreSQL", file=sys.stderr)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([py, "manage.py", "shell", "-c",
                    f"from datasets.models import Dataset; Dataset.objects.filter(name={args.dataset!r}).delete()"],
                   cwd=ROOT, check=True)
    started = time.perf_counter()
    out = subprocess.run([py, "manage.py", "make_demo_data", "--dataset", args.dataset, "--clips", str(args.clips),
                          "--seed", str(args.seed), "--no-pose"], cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    figures = json.loads(out.stdout)
    figures["wall_seconds_including_startup"] = round(wall, 1)
    figures["goal"] = "<= 600 s on PostgreSQL, 2 cores"
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
