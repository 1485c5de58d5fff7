"""The dev server's writer: its private output folder updated in place, a file at a time, where a rebuild must
take milliseconds. The writer of every other build, into a staging folder swapped in whole: staging.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from primer_site.errors import SiteError
from primer_site.model import Output, Unchanged
from primer_site.publish.output import MARKER, mark
from primer_site.publish.staging import WriteResult
from primer_site.store import is_racy, stamp_of
from primer_site.urls import is_inside


def snapshot(outputs: Sequence[Output | Unchanged], static_files: Mapping[str, Path]) -> dict[str, object]:
    """What a build wrote, to compare the next build with: page digests, static files' sources and stamps."""
    written: dict[str, object] = {
        o.path: o.digest if isinstance(o, Unchanged) else hashlib.blake2b(o.data, digest_size=16).digest()
        for o in outputs
    }
    taken = time.time()
    for path, file in static_files.items():
        written[path] = _copied(file, taken)
    return written


def _copied(file: Path, taken: float) -> object:
    """What tells the copy of `file` made now from a later one: its path and stamp (inputs.stamp_of: the change
    time and inode tell a file replaced by one of the same size and modification time, as `cp -p` or `rsync -t`
    leave it); while the stamp is too recent to trust (is_racy), the digest of its bytes."""
    stamp = stamp_of(file)
    if stamp is None:
        return object()  # unreadable: the copy reports why
    if is_racy(stamp, taken):
        try:
            return (str(file), hashlib.blake2b(file.read_bytes(), digest_size=16).digest())
        except OSError:
            return object()
    return (str(file), stamp)


def write_changes(
    made: Sequence[Output],
    paths: Sequence[str],
    extra: Sequence[Output],
    static_files: Mapping[str, Path],
    output: Path,
    previous: dict[str, object],
) -> tuple[WriteResult, dict[str, object]]:
    """Update a folder this process wrote last time, in place: `made` (pages rendered again) and `extra`
    (generated files) where their bytes changed, static files whose stat changed, and `paths` (every page, the
    rest unchanged) to know which files are gone. Each file is replaced in one rename. For the dev server's
    private folder, where a rebuild must take milliseconds; returns the result and the new snapshot."""
    current = dict(previous)
    data_of: dict[str, bytes] = {}
    for item in (*made, *extra):
        current[item.path] = hashlib.blake2b(item.data, digest_size=16).digest()
        data_of[item.path] = item.data
    taken = time.time()
    for path, file in static_files.items():
        current[path] = _copied(file, taken)
    wanted = {*paths, *(item.path for item in extra), *static_files}
    for path in [p for p in current if p not in wanted]:
        del current[path]
    written = 0
    for path, value in current.items():
        old = previous.get(path)
        if old is value or old == value:
            continue
        if not is_inside(path):
            raise SiteError(f"refusing to write outside the output folder: {path}")
        target = output / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        if isinstance(value, bytes):
            temporary.write_bytes(data_of[path])
        else:
            shutil.copy2(static_files[path], temporary)
        os.replace(temporary, target)
        written += 1
    for path in previous.keys() - current.keys():
        (output / path).unlink(missing_ok=True)
        folder = (output / path).parent
        while folder != output and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    if current.keys() != previous.keys():
        mark(output, {MARKER, *current})  # the folder's own record of what is ours follows it
    pages = sum(1 for path in paths if path.endswith(".html"))
    return WriteResult(written, len(current) - written, pages), current
