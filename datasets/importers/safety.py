"""Reading untrusted input files safely, and refusing them with where the problem is.

Every importer reads through these helpers:

- names (file names, archive members, ids used as file names) never contain ``..``, an absolute
  path, a backslash or a NUL;
- archives (zip, tar) are unpacked into a private temporary directory only after every member
  was checked: no member may escape it, links and devices are refused;
- pickles are never loaded: ``.pkl``/``.pickle`` files are refused outright and ``.npy`` files
  are read with ``allow_pickle=False`` (object arrays are refused);
- text must be UTF-8; the error names the line of the first bad byte.

A refusal is a ``DomainError`` whose ``fields`` say ``file``, ``line`` and ``field`` where known.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from config.exceptions import DomainError

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 200_000
MAX_ARCHIVE_BYTES = 8 * 1024**3
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pck", ".joblib")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def refuse(code: str, detail: str, *, file=None, line=None, field=None, extra=None):
    """Raise the DomainError importers use: ``fields`` carries file/line/field when known."""
    fields = {}
    if file is not None:
        fields["file"] = str(file)
    if line is not None:
        fields["line"] = int(line)
    if field is not None:
        fields["field"] = str(field)
    if extra:
        fields.update(extra)
    where = ", ".join(f"{k} {v}" for k, v in fields.items() if k in ("file", "line", "field"))
    raise DomainError(f"{detail}" + (f" ({where})" if where else ""), code=code, fields=fields)


def check_name(name: str, *, what: str = "name", file=None, line=None) -> str:
    """Refuse a name that could leave its directory: ``..``, absolute, backslash, NUL, empty."""
    text = str(name)
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if (not text.strip() or "\x00" in text or "\\" in text or text.startswith(("/", "~"))
            or ".." in parts or (len(text) > 1 and text[1] == ":")):
        refuse("unsafe_path", f"Unsafe {what} {text!r}: it could point outside its directory", file=file, line=line,
               field=what)
    return text


def check_id(value: str, *, what: str = "clip id", file=None, line=None, field=None) -> str:
    """An id that will also be a file name in exports: no path separators at all."""
    text = check_name(str(value).strip(), what=what, file=file, line=line)
    if "/" in text or len(text) > 200 or text in (".", ".."):
        refuse("unsafe_path", f"Unsafe {what} {text!r}", file=file, line=line, field=what)
    return text


def _is_archive(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in ARCHIVE_SUFFIXES)


def _extract_zip(path: Path, target: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_ARCHIVE_MEMBERS:
            refuse("archive_too_large", f"{len(members)} members in the archive", file=path.name)
        total = 0
        for info in members:
            check_name(info.filename, what="archive member", file=path.name)
            mode = (info.external_attr >> 16) & 0o170000
            if mode and mode not in (0o100000, 0o040000):
                refuse("unsafe_archive_member", f"Member {info.filename!r} is a link or device", file=path.name)
            total += info.file_size
            if total > MAX_ARCHIVE_BYTES:
                refuse("archive_too_large", "The archive unpacks to more than 8 GiB", file=path.name)
            _check_inside(target, info.filename, path.name)
        archive.extractall(target)


def _extract_tar(path: Path, target: Path) -> None:
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        if len(members) > MAX_ARCHIVE_MEMBERS:
            refuse("archive_too_large", f"{len(members)} members in the archive", file=path.name)
        total = 0
        for member in members:
            check_name(member.name, what="archive member", file=path.name)
            if not (member.isfile() or member.isdir()):
                refuse("unsafe_archive_member", f"Member {member.name!r} is a link or device", file=path.name)
            total += member.size
            if total > MAX_ARCHIVE_BYTES:
                refuse("archive_too_large", "The archive unpacks to more than 8 GiB", file=path.name)
            _check_inside(target, member.name, path.name)
        archive.extractall(target, filter="data")


def _check_inside(target: Path, member: str, archive_name: str) -> None:
    resolved = (target / member).resolve()
    if resolved != target.resolve() and target.resolve() not in resolved.parents:
        refuse("unsafe_path", f"Archive member {member!r} escapes the target directory", file=archive_name)


class InputFiles:
    """The files of one import: given paths, directories walked, archives unpacked (checked).

    Use as a context manager; unpacked archives live in a temporary directory removed on exit.
    ``files`` maps a relative display name to its path, in sorted order.
    """

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]
        self._tmp = None
        self.files: dict[str, Path] = {}

    def __enter__(self) -> "InputFiles":
        if not self.paths:
            refuse("no_input", "Give at least one input file")
        for path in self.paths:
            check_name(path.name, what="file name", file=path.name)
            if not path.exists():
                refuse("file_not_found", f"{path} does not exist", file=str(path))
            if path.is_dir():
                for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                    self._add(sub, f"{path.name}/{sub.relative_to(path).as_posix()}")
            elif _is_archive(path):
                if self._tmp is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="formlab-import-")
                target = Path(self._tmp.name) / f"{len(self.files)}-{path.name}"
                target.mkdir()
                (_extract_zip if path.name.lower().endswith(".zip") else _extract_tar)(path, target)
                for sub in sorted(p for p in target.rglob("*") if p.is_file()):
                    self._add(sub, f"{path.name}/{sub.relative_to(target).as_posix()}")
            else:
                self._add(path, path.name)
        return self

    def _add(self, path: Path, name: str) -> None:
        if path.is_symlink():
            refuse("unsafe_archive_member", "Symbolic links are not read", file=name)
        if path.name.lower().endswith(PICKLE_SUFFIXES):
            refuse("pickle_refused", "Pickle files are never loaded (they can run code)", file=name)
        if path.stat().st_size > MAX_FILE_BYTES:
            refuse("file_too_large", f"{path.stat().st_size} bytes; the limit is {MAX_FILE_BYTES}", file=name)
        self.files[name] = path

    def __exit__(self, *exc):
        if self._tmp is not None:
            self._tmp.cleanup()
        return False

    def named(self, predicate) -> list[tuple[str, Path]]:
        return [(n, p) for n, p in self.files.items() if predicate(n)]

    def provenance(self) -> list[dict]:
        from datasets.exports.files import sha256_file

        return [{"name": n, "bytes": p.stat().st_size, "sha256": sha256_file(p)} for n, p in self.files.items()]


def read_text(path: Path, *, name: str) -> str:
    """UTF-8 text (a BOM is accepted); refuse other encodings with the line of the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        refuse("not_utf8", f"The file is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
               file=name, line=line)


def read_json(path: Path, *, name: str):
    text = read_text(path, name=name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        refuse("invalid_json", f"Invalid JSON: {exc.msg} at column {exc.colno}", file=name, line=exc.lineno)


def read_npy(path: Path, *, name: str) -> np.ndarray:
    """A ``.npy`` array, never unpickled: object arrays are refused."""
    data = path.read_bytes()
    if not data.startswith(b"\x93NUMPY"):
        refuse("not_npy", "Not a NumPy .npy file", file=name)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            refuse("pickle_refused", "The .npy file holds pickled objects; it is never loaded", file=name)
        refuse("not_npy", f"Unreadable .npy file: {exc}", file=name)
    return array


def sanitize_upload_name(name: str) -> str:
    """The base name of an uploaded file, refused if it tries to climb out (``../x.csv``)."""
    check_name(name, what="file name", file=name)
    base = os.path.basename(name.replace("\\", "/"))
    return check_name(base, what="file name", file=name)
