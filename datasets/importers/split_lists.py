"""A plain split file: CSV ``clip_id,split`` (split = train, val or test; aliases valid, test...).

For split-only imports into an existing dataset (``import_dataset --format split_csv``, or the
split import API). The other formats' own split lists (RepCount-A's three CSVs, Fitness-AQA key
lists, QEVD directories, FLEX ``.mat`` rows) are read by their parsers with ``--splits-only``.
"""
from __future__ import annotations

from datasets.importers.common import csv_rows
from datasets.importers.parsed import ParsedImport
from datasets.importers.safety import check_id, read_text, refuse

SPLITS = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "dev": 1, "test": 2, "testing": 2,
          "benchmark": 2}


def parse_split_csv(files, options: dict) -> ParsedImport:
    parsed = ParsedImport(format="split_csv", split_rule="participant")
    entries = []
    for name, path in files.files.items():
        if not name.lower().endswith(".csv"):
            refuse("wrong_file_type", "Expected a .csv file clip_id,split", file=name)
        rows = csv_rows(read_text(path, name=name), name=name)
        if not rows or [c.strip().lower() for c in rows[0]] != ["clip_id", "split"]:
            refuse("wrong_columns", f"Expected the header clip_id,split; got {','.join(rows[0]) if rows else 'nothing'}",
                   file=name, line=1)
        for line, row in enumerate(rows[1:], start=2):
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != 2:
                refuse("wrong_columns", f"Expected 2 cells, got {len(row)}", file=name, line=line)
            split = SPLITS.get(row[1].strip().lower())
            if split is None:
                refuse("unknown_split_name", f"Unknown split {row[1]!r}; use train, val or test", file=name,
                       line=line, field="split")
            entries.append((check_id(row[0], file=name, line=line), split))
    parsed.split_entries = entries
    return parsed
