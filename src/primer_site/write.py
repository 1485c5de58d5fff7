"""Outputs → the output folder, atomically: built beside it, swapped in whole on success.

Files whose bytes did not change are hard-linked from the previous output, so their
modification times stay put and rsync-style deploys upload only what changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SiteError
from .model import Output
from .urls import is_inside

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass(frozen=True)
class WriteResult:
    written: int  # files whose bytes are new
    unchanged: int  # files kept from the previous output


def check_output_folder(source: Path, output: Path, protected: Iterable[str]) -> None:
    """Refuse an output folder whose replacement would delete the site's own files."""
    source, output = source.resolve(), output.resolve()
    if output == source or output in source.parents:
        raise SiteError(f"output folder {output} holds the site itself: choose another --output")
    for name in protected:
        folder = (source / name).resolve()
        if output == folder or folder in output.parents or output in folder.parents:
            raise SiteError(f"output folder {output} overlaps the site's {name}/ folder: choose another --output")


def write_output(outputs: Sequence[Output], static_dirs: Sequence[Path], output: Path) -> WriteResult:
    """Build the new site in a sibling folder, then swap it in; the old one is kept on failure."""
    output = output.absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(output)
    staging = output.parent / f".{output.name}.tmp-{os.getpid()}"
    staging.mkdir()
    try:
        result = _fill(staging, outputs, static_dirs, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = _swap_in(staging, output)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return result


def remove_leftovers(output: Path) -> None:
    """Staging folders left by a build that was killed."""
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _fill(staging: Path, outputs: Sequence[Output], static_dirs: Sequence[Path], previous: Path) -> WriteResult:
    written = unchanged = 0
    seen_dirs: set[Path] = set()
    for folder in static_dirs:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = file.relative_to(folder).as_posix()
            if any(part.startswith(".") for part in relative.split("/")):
                continue
            new = _place(staging, relative, seen_dirs)
            if new.exists():
                new.unlink()  # the site's static file overrides the theme's
            if _same_file(previous / relative, file.read_bytes()):
                _link_or_copy(previous / relative, new)
                unchanged += 1
            else:
                shutil.copy2(file, new)
                written += 1
    for item in outputs:
        if not is_inside(item.path):
            raise SiteError(f"refusing to write outside the output folder: {item.path}")
        new = _place(staging, item.path, seen_dirs)
        if new.exists():
            new.unlink()
        if _same_file(previous / item.path, item.data):
            _link_or_copy(previous / item.path, new)
            unchanged += 1
        else:
            new.write_bytes(item.data)
            written += 1
    return WriteResult(written, unchanged)


def _place(staging: Path, relative: str, seen_dirs: set[Path]) -> Path:
    target = staging / relative
    parent = target.parent
    if parent not in seen_dirs:
        parent.mkdir(parents=True, exist_ok=True)
        seen_dirs.add(parent)
    return target


def _same_file(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _link_or_copy(old: Path, new: Path) -> None:
    try:
        os.link(old, new)
    except OSError:
        shutil.copy2(old, new)


def _swap_in(staging: Path, output: Path) -> Path | None:
    """Exchange the two folders in one step where the kernel can, else by two renames.

    Returns the folder now holding the previous output, for the caller to remove.
    """
    if not output.exists():
        staging.rename(output)
        return None
    if _exchange(staging, output):
        return staging
    retired = output.parent / f".{output.name}.tmp-{os.getpid()}-old"
    output.rename(retired)
    staging.rename(output)
    return retired


def _exchange(a: Path, b: Path) -> bool:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0
