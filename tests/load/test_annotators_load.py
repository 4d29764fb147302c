"""Item 1 of the reliability issue: 50 annotators at once, 5% retried, 2% abandoned.

Real PostgreSQL, gunicorn on 127.0.0.1, one thread per annotator (bench/load_annotators.py).
Prints throughput, p50/p95/p99 latency and the vote figures (copied to bench/reliability.md)."""
import json
import sys
from pathlib import Path

import pytest
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import load_annotators as load  # noqa: E402

ANNOTATORS = 50
VOTES = 200


@pytest.mark.django_db(transaction=True)
def test_fifty_annotators_lose_and_duplicate_nothing():
    # given: 50 annotators and a dataset with room for all their work
    seeded = load.seed(name="load50", n_clips=140, n_annotators=ANNOTATORS)
    # when
    with load.server(db_name=settings.DATABASES["default"]["NAME"]) as base_url:
        stats, elapsed = load.run_load(base_url=base_url, seeded=seeded, votes_target=VOTES, endpoint_items=4,
                                       retry_rate=0.05, abandon_rate=0.02, seed_value=1)
        reissue = load.expire_and_reissue(base_url=base_url, seeded=seeded, stats=stats)
    figures = load.verify(seeded=seeded, stats=stats)
    latency = load.latency_table(stats, elapsed)
    print(json.dumps({"latency": latency, "labels": figures, "retries": stats.retries,
                      "replays_ok": stats.replays_ok, "reissue": reissue}, indent=2))
    # then: every acknowledged label stored exactly once, nothing more
    assert latency["server_errors"] == 0, stats.errors[:5]
    assert stats.errors == []
    assert figures["votes_submitted"] >= ANNOTATORS * VOTES * 0.8
    assert figures["votes_lost"] == figures["votes_duplicated"] == figures["votes_stored_unacknowledged"] == 0
    assert figures["votes_stored"] == figures["votes_submitted"]
    assert figures["marks_lost"] == figures["marks_duplicated"] == 0
    assert figures["marks_stored"] == figures["marks_submitted"]
    # no item over its quota, nobody twice on an item
    assert figures["max_voters_per_clip"] <= figures["quota_severity"]
    assert figures["max_markers_per_clip"] <= figures["quota_endpoints"]
    assert figures["leases_over_quota"] == figures["annotator_twice_on_an_item"] == 0
    # every retry replayed the first answer; abandoned items came back after their lease
    assert stats.replays_ok == stats.retries > 0
    assert reissue["reissued"] == reissue["abandoned"]
