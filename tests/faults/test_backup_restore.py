"""Backup and restore as docs/reliability.md describes it: ``pg_dump -Fc`` of the database plus a
tar of the storage folder, restored into a FRESH database (unique name) and a fresh folder; the
label hashes and the pose files must match."""
import hashlib
import subprocess
import tarfile
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tests.datasets.factories import toy_dataset

# Label content, hashed the same way on both databases. Each query lists one kind of label (or a
# label set's own recorded hash) in a fixed order; tables not built yet are skipped on both sides.
LABEL_QUERIES = {
    "annotation_severityvote": "SELECT repetition_id, error_type_id, annotator_id, value FROM annotation_severityvote "
                               "ORDER BY 1, 2, 3",
    "annotation_endpointmark": "SELECT clip_id, annotator_id, frame FROM annotation_endpointmark ORDER BY 1, 2, 3",
    "annotation_errorsegment": "SELECT clip_id, error_type_id, annotator_id, start_frame, end_frame "
                               "FROM annotation_errorsegment ORDER BY 1, 2, 3, 4, 5",
    "annotation_feedbacknote": "SELECT clip_id, annotator_id, frame, text FROM annotation_feedbacknote "
                               "ORDER BY 1, 2, 3, 4",
    "kg_flexlabelset": "SELECT id, input_hash FROM kg_flexlabelset ORDER BY 1",
    "annotation_labelset": "SELECT * FROM annotation_labelset ORDER BY id",
    "datasets_splitversion": "SELECT id, manifest_hash FROM datasets_splitversion ORDER BY 1",
}


def _conninfo(name: str) -> dict:
    db = settings.DATABASES["default"]
    return {"dbname": name, "host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432,
            "user": db.get("USER") or "postgres", "password": db.get("PASSWORD") or None}


def _pg_env() -> dict:
    import os

    info = _conninfo("")
    env = dict(os.environ, PGHOST=str(info["host"]), PGPORT=str(info["port"]), PGUSER=info["user"])
    if info["password"]:
        env["PGPASSWORD"] = info["password"]
    return env


def label_hashes(cursor) -> dict:
    cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    tables = {row[0] for row in cursor.fetchall()}
    out = {}
    for table, query in LABEL_QUERIES.items():
        if table not in tables:
            continue
        cursor.execute(query)
        digest = hashlib.sha256()
        for row in cursor.fetchall():
            digest.update(repr(tuple(row)).encode())
        out[table] = digest.hexdigest()
    return out


def _files_digest(root) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_has_the_same_labels_and_files(tmp_path, private_media):
    # given: labels of every raw kind, a frozen split, pose files in storage
    from datasets.services.splits import split_make

    toy = toy_dataset(name="backup", n_participants=6, with_pose=True, seed=5)
    split_make(dataset=toy.dataset, seed=2)
    with connection.cursor() as cursor:
        before = label_hashes(cursor)
    source = settings.DATABASES["default"]["NAME"]
    fresh = f"formlab_rel_restore_{uuid.uuid4().hex[:10]}"
    dump, archive = tmp_path / "formlab.dump", tmp_path / "media.tar.gz"
    # when: back up (pg_dump + tar of the storage folder) ...
    subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), source], check=True, env=_pg_env(),
                   timeout=120)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(private_media, arcname="media")
    # ... and restore into a new database and a new folder
    subprocess.run(["createdb", fresh], check=True, env=_pg_env(), timeout=60)
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", fresh, str(dump)], check=True,
                       env=_pg_env(), timeout=120)
        with psycopg.connect(**_conninfo(fresh)) as restored, restored.cursor() as cursor:
            after = label_hashes(cursor)
            cursor.execute("SELECT count(*) FROM datasets_clip WHERE dataset_id = %s", [toy.dataset.pk])
            clips = cursor.fetchone()[0]
    finally:
        subprocess.run(["dropdb", "--if-exists", fresh], env=_pg_env(), timeout=60)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "restored", filter="data")
    # then
    assert {"annotation_severityvote", "annotation_endpointmark", "datasets_splitversion"} <= set(before)
    assert after == before
    assert clips == len(toy.clips)
    assert _files_digest(tmp_path / "restored" / "media") == _files_digest(private_media) != {}
