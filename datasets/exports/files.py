"""Where exports are written, and how, so a reader never sees half an export.

- The target directory is checked before any work: never inside the project's source tree (an
  export there would end up in a commit), never an existing non-empty directory unless forced.
- Files are written into a hidden temporary directory beside the target and renamed into place at
  the end; a failed or killed export leaves the target untouched.
- Zip files (``.npz`` arrays, downloads) are written with fixed member timestamps, so the same
  content gives the same bytes.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path

from config.env import BASE_DIR
from config.exceptions import DomainError

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: str) -> str:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote (OWASP advice)."""
    if value and value[0] in FORMULA_PREFIXES:
        return "'" + value
    return value


def safe_file_stem(external_id: str, fallback: str) -> str:
    """A clip id usable as a file name, or ``fallback`` when it is not (slashes, dots first...)."""
    return external_id if _SAFE_NAME.match(external_id) and ".." not in external_id else fallback


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def out_dir_check(*, out, force: bool = False, allowed_root: Path | None = None) -> Path:
    """Resolve and check an export target; raise a DomainError before anything is written.

    ``allowed_root`` (the media directory, for exports launched from the API) is exempt from the
    source-tree rule even when it lies inside the project directory.
    """
    if out is None or str(out).strip() == "":
        raise DomainError("Give an output directory.", code="out_required", fields={"out": ["required"]})
    target = Path(os.path.abspath(Path(out).expanduser()))
    resolved = target.resolve()
    exempt = allowed_root is not None and _inside(resolved, Path(allowed_root).resolve())
    if not exempt and _inside(resolved, BASE_DIR.resolve()):
        raise DomainError(
            f"{target} is inside the project's source tree ({BASE_DIR}); write exports elsewhere.",
            code="out_in_source_tree", fields={"out": [str(target)]},
        )
    if resolved.exists() and not resolved.is_dir():
        raise DomainError(f"{target} exists and is not a directory.", code="out_not_directory",
                          fields={"out": [str(target)]})
    if resolved.is_dir() and any(resolved.iterdir()) and not force:
        raise DomainError(f"{target} exists and is not empty; pass --force to replace it.",
                          code="out_not_empty", fields={"out": [str(target)]})
    return resolved


class AtomicDirectory:
    """Write into ``<parent>/.<name>.partial-<random>``; ``commit()`` renames it to the target.

    Leaving the ``with`` block without ``commit()`` (an exception, a cancelled job) deletes the
    temporary directory. A replaced target is moved aside first and deleted after the rename, so
    at every instant the target is either the old export or the new one.
    """

    def __init__(self, target: Path):
        self.target = Path(target)
        self.tmp = self.target.parent / f".{self.target.name}.partial-{uuid.uuid4().hex[:12]}"
        self.committed = False

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir()
        return self.tmp

    def commit(self) -> None:
        old = None
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old-{uuid.uuid4().hex[:12]}"
            self.target.rename(old)
        self.tmp.rename(self.target)
        self.committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb):
        if not self.committed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_listing(root: Path, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Every file under ``root`` (relative POSIX path, bytes, sha256), sorted by path."""
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel in exclude:
            continue
        rows.append({"path": rel, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return rows


def zip_member_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write_zip(path: Path, root: Path, relpaths: list[str]) -> None:
    """Zip files of ``root`` (in the given order) with fixed timestamps: same files, same bytes."""
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for rel in relpaths:
            with open(root / rel, "rb") as src, archive.open(zip_member_info(rel), "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
