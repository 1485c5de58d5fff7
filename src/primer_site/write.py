"""Outputs → the output folder, atomically: the new site is made in a staging folder beside it,
then the two are swapped in one step. A failed or killed build leaves the live folder as it was.

The staging folder is kept between builds (after a swap it holds the previous site), so a build
reconciles it instead of recreating thousands of folders: files whose bytes did not change are
hard-links to the live ones (their modification times stay put, so rsync-style deploys upload only
what changed), other files are replaced, files no longer produced are removed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
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


def staging_folder(output: Path) -> Path:
    return output.parent / f".{output.name}.staging"


def check_output_folder(source: Path, output: Path, protected: Sequence[str]) -> None:
    """Refuse an output folder whose replacement would delete the site's own files."""
    source, output = source.resolve(), output.resolve()
    if output == source or output in source.parents:
        raise SiteError(f"output folder {output} holds the site itself: choose another --output")
    for name in protected:
        folder = (source / name).resolve()
        if output == folder or folder in output.parents or output in folder.parents:
            raise SiteError(f"output folder {output} overlaps the site's {name}/ folder: choose another --output")


def write_output(
    outputs: Sequence[Output],
    static_files: Mapping[str, Path],
    output: Path,
    finish: Callable[[Path], None] | None = None,
) -> WriteResult:
    """Make the new site in the staging folder, `finish` it there (a search index, say), then swap it in."""
    output = output.absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output.parent / f".{output.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time per output folder
        staging = staging_folder(output)
        recover_output(output)
        desired: dict[str, bytes | Path] = dict(static_files)
        for item in outputs:
            if not is_inside(item.path):
                raise SiteError(f"refusing to write outside the output folder: {item.path}")
            desired[item.path] = item.data
        staging.mkdir(exist_ok=True)
        result = _reconcile(staging, desired, output)
        if finish is not None:
            finish(staging)
        _swap_in(staging, output)
    return result


def recover_output(output: Path) -> None:
    """Finish a two-rename swap that was interrupted; drop leftovers of older builds."""
    output = output.absolute()
    staging = staging_folder(output)
    retired = output.parent / f".{output.name}.retired"
    if retired.exists():
        if output.exists():
            shutil.rmtree(retired, ignore_errors=True)
        else:
            retired.rename(output)
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        staging.unlink()


def _reconcile(staging: Path, desired: dict[str, bytes | Path], live: Path) -> WriteResult:
    existing_files: set[str] = set()
    existing_dirs: set[str] = {""}
    for dirpath, dirnames, filenames in os.walk(staging):
        relative = os.path.relpath(dirpath, staging)
        relative = "" if relative == "." else relative.replace(os.sep, "/")
        existing_dirs.add(relative)
        for name in filenames:
            existing_files.add(f"{relative}/{name}" if relative else name)
        for name in list(dirnames):
            if os.path.islink(os.path.join(dirpath, name)):
                os.unlink(os.path.join(dirpath, name))
                dirnames.remove(name)

    for stale in existing_files - desired.keys():
        (staging / stale).unlink()
    needed_dirs = {""}
    for path in desired:
        parts = path.split("/")[:-1]
        needed_dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    for folder in sorted(existing_dirs - needed_dirs, key=len, reverse=True):
        shutil.rmtree(staging / folder, ignore_errors=True)

    written = unchanged = 0
    for path in sorted(desired):
        data = desired[path]
        content = data.read_bytes() if isinstance(data, Path) else data
        target = staging / path
        parent = path.rpartition("/")[0]
        if parent not in existing_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            existing_dirs.add(parent)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        current = live / path
        if _same_bytes(current, content):
            unchanged += 1
            if not _same_inode(current, target):
                target.unlink(missing_ok=True)
                _link_or_copy(current, target)
            continue
        written += 1
        if path in existing_files and _same_bytes(target, content) and not _same_inode(current, target):
            continue
        # never write through a hard link: that would change the live site too
        target.unlink(missing_ok=True)
        target.write_bytes(content)
    return WriteResult(written, unchanged)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _same_inode(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _link_or_copy(old: Path, new: Path) -> None:
    try:
        os.link(old, new)
    except OSError:
        shutil.copy2(old, new)


def _swap_in(staging: Path, output: Path) -> None:
    """Exchange the folders in one step where the kernel can; else by renames that _recover can finish."""
    if not output.exists():
        staging.rename(output)
        return
    if _exchange(staging, output):
        return
    retired = output.parent / f".{output.name}.retired"
    output.rename(retired)
    staging.rename(output)
    retired.rename(staging)


def _exchange(a: Path, b: Path) -> bool:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        renameat2 = ctypes.CDLL(libc_name, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def snapshot(outputs: Sequence[Output], static_files: Mapping[str, Path]) -> dict[str, object]:
    """What a build wrote, to compare the next build with: page bytes, static files' stats."""
    written: dict[str, object] = {o.path: o.data for o in outputs}
    for path, file in static_files.items():
        info = file.stat()
        written[path] = (str(file), info.st_mtime_ns, info.st_size)
    return written


def write_changes(
    outputs: Sequence[Output], static_files: Mapping[str, Path], output: Path, previous: dict[str, object]
) -> tuple[WriteResult, dict[str, object]]:
    """Update a folder this process wrote last time, in place: only files whose bytes changed, each
    replaced in one rename. For the dev server's private folder, where a rebuild must take milliseconds."""
    current = snapshot(outputs, static_files)
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
            temporary.write_bytes(value)
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
    return WriteResult(written, len(current) - written), current
