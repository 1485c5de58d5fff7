"""The last good build's record per output folder, in the site's .primer-cache/builds/: where a `build` in a new
process takes up from (what a record holds: buildrecord.py). It imports no stage.

Each part of a record ("record"; "render", its render memory, and "render-delta-…", what changed in it since) is one file of bytes, marshal's plain data behind a
header naming primer-site's own code (salts.code_salt) and a digest of the bytes keyed with this user's key
(salts.cache_key): a file of another version, a damaged or truncated one, or one written by anyone else (copied
from another machine, committed to the site's repository) is ignored (it costs a full build, never a wrong page), and nothing in it is ever run.
Only the records of the newest `_RECORDS_KEPT` output folders are kept (`check` builds into a new temporary
folder each time).
"""

from __future__ import annotations

import contextlib
import hmac
import os
from pathlib import Path

from primer_site.layout import CACHE_DIR
from primer_site.salts import cache_key, code_salt

RECORDS_DIR = "builds"  # in CACHE_DIR: one record (and its render memory) per output folder
_RECORDS_KEPT = 8  # output folders remembered
_HEADER = b"primer-site record 3\n"  # 3: HMAC-SHA-256 (RFC 2104), keyed; SHA-256 is hardware-assisted here:
# twice keyed BLAKE2b's speed on the render memory's megabytes


def _part_file(site: Path, name: str, part: str) -> Path:
    return site / CACHE_DIR / RECORDS_DIR / f"{name}.{part}.bin"


def recall_bytes(site: Path, name: str, part: str) -> bytes | None:
    """The `part` of the record kept under `name` (one per output folder) by keep_bytes, if it was written whole by
    this code: a header naming the code's salt, then a digest of the bytes that follow keyed with this user's key.
    Anything else (another version, a damaged or truncated file, one written under another key) is None: it costs a full build, never a wrong page."""
    try:
        data = _part_file(site, name, part).read_bytes()
    except OSError:
        return None
    header = _HEADER + code_salt().encode() + b"\n"
    digest, body = data[len(header) : len(header) + 16], data[len(header) + 16 :]
    if not data.startswith(header) or not hmac.compare_digest(_digest(body), digest):
        return None
    return body


def keep_bytes(site: Path, name: str, part: str, data: bytes) -> str | None:
    """Keep `data` as the `part` of the record under `name` ("record" last: the record names its render memory),
    written whole then renamed into place. The reason it could not be (for a warning), or None; then the record
    is dropped too: a record of another build would now be wrong for this one, and the next build is a full one,
    as without a cache."""
    path = _part_file(site, name, part)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = _HEADER + code_salt().encode() + b"\n"
        with open(temporary, "wb") as file:  # in three writes: `data` is the render memory, megabytes, not copied
            file.write(header)
            file.write(_digest(data))
            file.write(data)
        os.replace(temporary, path)
        path.with_suffix(".json").unlink(missing_ok=True)  # the same part as JSON, by an older version
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        _drop(site, name)
        return _reason(error)
    return None


def keep_newest(site: Path, name: str) -> str | None:
    """Let go of the records of all but the newest `_RECORDS_KEPT` output folders, each with every part kept for
    it (after keep_bytes has kept the record under `name`, which is the newest). The reason it could not be, or
    None; then the record under `name` is dropped, as keep_bytes drops it."""
    folder = _part_file(site, name, "record").parent
    try:
        found = [p for p in folder.glob("*.record.*") if not p.name.startswith(".")]  # not a temporary
        records = sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
        for old in records[_RECORDS_KEPT:]:
            for stale in folder.glob(old.name.partition(".")[0] + ".*"):
                stale.unlink(missing_ok=True)
    except OSError as error:
        _drop(site, name)
        return _reason(error)
    return None


def keep_only(site: Path, name: str, prefix: str, kept: str | None) -> None:
    """Let go of the parts under `name` whose part name starts with `prefix`, but `kept` (after the record that
    names it is kept: until then the last record's own part must stay)."""
    folder = _part_file(site, name, "record").parent
    with contextlib.suppress(OSError):
        for part in folder.glob(f"{name}.{prefix}*.bin"):
            if part.name != _part_file(site, name, kept or "").name:
                part.unlink(missing_ok=True)


def _digest(data: bytes) -> bytes:
    return hmac.digest(cache_key(), data, "sha256")[:16]


def _drop(site: Path, name: str) -> None:
    """The record under `name` and every part kept for it, gone (as far as the folder lets them go)."""
    with contextlib.suppress(OSError):
        for part in _part_file(site, name, "record").parent.glob(f"{name}.*"):
            if not part.name.startswith("."):
                part.unlink(missing_ok=True)


def _reason(error: OSError) -> str:
    return f"{error.strerror or error}" + (f" ({error.filename})" if error.filename else "")
