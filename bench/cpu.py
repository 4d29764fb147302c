"""CPU time of the web server, PostgreSQL and this process, read from /proc, so that a
benchmark can say how much CPU each request cost where (comparable across machines)."""
import os
import time


def _cpu_seconds(match) -> float:
    """CPU seconds (user + system) used so far by every process whose command line contains
    ``match``, counting also the children they have reaped: PostgreSQL's backends and autovacuum
    workers exit and are reaped by the postmaster, whose own counters then hold their time."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if match not in f.read():
                    continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(field) for field in fields[11:15]) / tick  # utime stime cutime cstime
        except OSError:
            continue
    return total


def cpu_now() -> dict:
    return {"server": _cpu_seconds(b"gunicorn"), "postgres": _cpu_seconds(b"postgres"), "client": time.process_time()}


def cpu_since(before: dict) -> dict:
    """CPU seconds used since ``before`` (a ``cpu_now()``)."""
    now = cpu_now()
    return {k: now[k] - before[k] for k in now}
