"""PostgreSQL's binary COPY format for bulk inserts of numeric columns.

A COPY in binary format spares PostgreSQL parsing text for every field (~10% of a vote import's
COPY time) and costs the client one numpy structured array per chunk instead of a CSV writer.
Only columns that are integer arrays, or one constant (an integer, a string, a timestamp) for
every row, are encoded; anything else (text arrays, floats, NULLs) returns None and the caller
uses CSV. The format: a signature and header, then per row a 16-bit field count and per field a
32-bit length and the value in network byte order, then a -1 trailer.
"""
from datetime import datetime, timezone

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension length
TRAILER = b"\xff\xff"
_INTEGERS = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2"}
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _field_spec(db_type: str, value):
    """(numpy dtype, value to store) for one column, or None when it cannot go in binary."""
    if db_type in _INTEGERS:
        if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
            return _INTEGERS[db_type], value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return _INTEGERS[db_type], int(value)
        return None
    if db_type.startswith(("varchar", "text")) and isinstance(value, str):
        encoded = value.encode()
        return f"S{len(encoded)}", encoded
    if db_type == "timestamp with time zone" and isinstance(value, (str, datetime)):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            return None
        delta = moment - _EPOCH
        return ">i8", (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return None


def binary_rows(model, connection, columns: dict, n_rows: int) -> bytes | None:
    """The COPY payload (signature, rows, trailer) for ``columns`` of ``model``, or None."""
    fields = {f.column: f for f in model._meta.concrete_fields}
    specs = []
    for name, value in columns.items():
        spec = _field_spec(fields[name].db_type(connection), value) if name in fields else None
        if spec is None:
            return None
        specs.append((name, *spec))
    dtype = np.dtype([("count", ">i2")] + [x for i, (_, fmt, _) in enumerate(specs)
                                             for x in ((f"len{i}", ">i4"), (f"val{i}", fmt))])
    rows = np.empty(n_rows, dtype)
    rows["count"] = len(specs)
    for i, (_, fmt, value) in enumerate(specs):
        rows[f"len{i}"] = np.dtype(fmt).itemsize
        rows[f"val{i}"] = value
    return SIGNATURE + rows.tobytes() + TRAILER
