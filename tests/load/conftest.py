"""The load suite runs only when asked for (``make test-load`` = ``pytest tests/load``): a plain
``pytest tests`` (``make test``) does not collect it, so the fast suite stays fast."""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path, config):
    asked = any(HERE == Path(a.split("::")[0]).resolve() or HERE in Path(a.split("::")[0]).resolve().parents
                for a in config.args)
    return None if asked else True


# The soak tests reuse the fault-test plumbing (workers that load the fault job kinds, a private
# media folder, a private redis-server).
from tests.faults.conftest import fault_worker_env, private_media, private_redis, worker_factory  # noqa: E402,F401
