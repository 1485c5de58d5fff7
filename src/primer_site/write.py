"""Outputs → the output folder, atomically: the new site is made in a staging folder beside it,
then the two are swapped in one step. A failed or killed build leaves the live folder as it was.

A build replaces only folders it made: both the output and the staging folder carry a marker file
(MARKER), and a non-empty folder without it is refused before anything in it is touched (`claim_output`),
unless the user says `--force`. A symlinked output (`public -> /var/www/site`) is built at the link's
target: the staging folder sits beside the target and the link itself is never replaced.

The staging folder is kept between builds (after a swap it holds the previous site), so a build
reconciles it instead of recreating thousands of folders: files whose bytes did not change are
hard-links to the live ones (their modification times stay put, so rsync-style deploys upload only
what changed), other files are replaced, files no longer produced are removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import Problems, SiteError
from .model import Output
from .urls import collision_key, is_inside

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

# In every output and staging folder a build makes: what tells primer-site that a folder is its own to replace.
MARKER = ".primer-site-output"
_MARKER_TEXT = b"This folder is made by primer-site build: the next build replaces everything in it.\n"


@dataclass(frozen=True)
class WriteResult:
    written: int  # files whose bytes are new
    unchanged: int  # files kept from the previous output
    pages: int = 0  # HTML pages among the outputs


def staging_folder(output: Path) -> Path:
    return output.parent / f".{output.name}.staging"


def live_folder(output: Path) -> Path:
    """The folder a build swaps the site into: `output` itself, or the target of a symlinked output (absolute)."""
    return Path(os.path.realpath(output.absolute()))


def is_marked(folder: Path) -> bool:
    """Whether `folder` holds the marker of a folder primer-site made."""
    marker = folder / MARKER
    return marker.is_file() and not marker.is_symlink()


def claim_output(output: Path, force: bool = False) -> Path:
    """The folder the site will be swapped into (see `live_folder`), once it is known to be primer-site's to replace.

    Touches nothing. Raises SiteError when the output, or the staging folder beside it, is a file, or a
    non-empty folder without the marker (unless `force`), or when the new site cannot be made beside it.
    """
    live = live_folder(output)
    shown = f"{output} (a link to {live})" if live != output.absolute() else str(output)
    if live.is_symlink():
        raise SiteError(f"output {output} is a symbolic link that leads nowhere (a loop): choose another --output")
    if live.exists() and not live.is_dir():
        raise SiteError(f"output {shown} is a file, not a folder: choose another --output")
    staging = staging_folder(live)
    if (staging.is_symlink() or (staging.exists() and not staging.is_dir())) and not force:
        raise SiteError(
            f"{staging} is in the way of the staging folder the build makes beside {shown}: "
            "remove it, or pass --force to replace it"
        )
    for folder, what in ((live, "output folder"), (staging, "staging folder")):
        if force or not folder.is_dir() or folder.is_symlink() or is_marked(folder) or _is_empty(folder):
            continue
        where = f"{what} {shown}" if folder == live else f"{what} {folder} (beside {shown})"
        raise SiteError(
            f"{where} holds files primer-site did not write (it has no {MARKER} marker), so nothing was changed: "
            "build into an empty or new folder (--output DIR), or pass --force to replace everything in it "
            "(a folder built by an older primer-site needs --force once)"
        )
    _check_writable(live.parent, shown, staging)
    return live


def remove_output(output: Path, force: bool = False) -> list[Path]:
    """Remove what builds into `output` made: the output folder (a symlinked output's target is emptied, the link
    and the folder it names are kept), the staging folder, leftovers of killed builds. Returns what was removed.

    A folder without the marker is refused (SiteError, nothing removed) unless `force`.
    """
    live = live_folder(output)
    staging = staging_folder(live)
    linked = live != output.absolute()
    for folder in (live, staging):
        if folder.is_dir() and not (force or is_marked(folder) or _is_empty(folder)):
            raise SiteError(
                f"{folder} holds files primer-site did not write (it has no {MARKER} marker), so nothing was "
                "removed: remove it yourself, or pass --force"
            )
    if not live.parent.is_dir():
        return []
    removed = []
    with _locked(live.parent):
        leftovers = [live.parent / f".{live.name}.retired", *live.parent.glob(f".{live.name}.tmp-*")]
        for folder in [staging, *(f for f in leftovers if is_marked(f))]:
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder)
                removed.append(folder)
        if linked and live.is_dir():
            for entry in sorted(live.iterdir()):
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            removed.append(live)
        elif live.is_dir():
            shutil.rmtree(live)
            removed.append(live)
    return removed


def _is_empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def _check_writable(parent: Path, shown: str, staging: Path) -> None:
    """Refuse, before anything is made, a place where the staging folder cannot be created and renamed."""
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK) and _writable_filesystem(existing):
        return
    raise SiteError(
        f"cannot build into {shown}: the new site is made in {staging} and swapped in, "
        f"and {existing} is not writable for this user (make it writable, or point the output, or its link, "
        "at a folder inside a writable one)"
    )


def _writable_filesystem(folder: Path) -> bool:
    try:
        return not os.statvfs(folder).f_flag & os.ST_RDONLY
    except OSError:
        return True


def check_output_folder(source: Path, output: Path, protected: Sequence[str]) -> None:
    """Refuse an output folder whose replacement would delete the site's own files."""
    source, output = source.resolve(), output.resolve()
    if output == source or output in source.parents:
        raise SiteError(f"output folder {output} holds the site itself: choose another --output")
    for name in protected:
        folder = (source / name).resolve()
        if output == folder or folder in output.parents or output in folder.parents:
            raise SiteError(f"output folder {output} overlaps the site's {name}/ folder: choose another --output")


def unique_outputs(outputs: Iterable[Output], problems: Problems) -> Iterator[Output]:
    """The outputs, as they come, less any a second time at one path (or one that a case-insensitive
    host takes for it), which is reported; a path out of the output folder stops the build."""
    seen: set[str] = set()
    for item in outputs:
        if not is_inside(item.path):
            raise SiteError(f"refusing to write outside the output folder: {item.path}")
        key = collision_key(item.path)
        if key in seen:
            problems.error(f"two pages would be written to {item.path} (check permalinks and slugs)", "site.yaml")
            continue
        seen.add(key)
        yield item


def write_output(
    outputs: Iterable[Output],
    static_files: Mapping[str, Path],
    output: Path,
    finish: Callable[[Path], None] | None = None,
    problems: Problems | None = None,
    swap_on_errors: bool = False,
) -> WriteResult:
    """Store each output in the staging folder as it comes, `finish` it there (a search index, say),
    then swap it in. Errors found meanwhile (in `problems`) stop it before the swap, unless `swap_on_errors`
    (`check`'s build into a temporary folder, which reports them)."""
    problems = problems if problems is not None else Problems()
    output = live_folder(output)
    staging = staging_folder(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SiteError(f"cannot make {output.parent}: {error.strerror}") from None
    with _locked(output.parent):  # one build at a time per output folder
        recover_output(output)
        try:
            staging.mkdir(exist_ok=True)
        except OSError as error:
            raise SiteError(f"cannot make the staging folder {staging}: {error.strerror}") from None
        folder = _Staging(staging, output)
        for path, file in static_files.items():
            folder.put(path, file)
        pages = 0
        for item in unique_outputs(outputs, problems):
            pages += item.path.endswith(".html")
            folder.put(item.path, item.data)
        if not swap_on_errors:
            problems.raise_if_errors()  # the staging folder is half made; the live site is as it was
        folder.remove_stale()
        if finish is not None:
            finish(staging)
        _swap_in(staging, output)
        if staging.is_dir() and not is_marked(staging):
            shutil.rmtree(staging)  # what was live was not ours (claim_output let it through: --force)
    return WriteResult(folder.written, folder.unchanged, pages)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder holding the output (flock on the folder itself): no lock file is left."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def recover_output(output: Path) -> None:
    """Finish a two-rename swap that was interrupted; drop leftovers of older builds. Only folders that carry
    the marker are moved or removed."""
    output = live_folder(output)
    staging = staging_folder(output)
    retired = output.parent / f".{output.name}.retired"
    if retired.is_dir() and not retired.is_symlink() and is_marked(retired):
        if output.exists():
            shutil.rmtree(retired, ignore_errors=True)
        else:
            retired.rename(output)
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink() and is_marked(stale):
            shutil.rmtree(stale, ignore_errors=True)
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        staging.unlink()  # claim_output let it through: --force


class _Staging:
    """The staging folder brought to the new site's state one file at a time."""

    def __init__(self, staging: Path, live: Path) -> None:
        self.staging, self.live = staging, live
        self.files: set[str] = set()
        self.dirs: set[str] = {""}
        self.wanted: set[str] = set()
        self.written = self.unchanged = 0
        marker = staging / MARKER
        if not is_marked(staging):
            marker.unlink(missing_ok=True)
            marker.write_bytes(_MARKER_TEXT)  # first, so that a build killed from here on left a folder it can claim
        self.wanted.add(MARKER)
        for dirpath, dirnames, filenames in os.walk(staging):
            relative = os.path.relpath(dirpath, staging)
            relative = "" if relative == "." else relative.replace(os.sep, "/")
            self.dirs.add(relative)
            for name in filenames:
                self.files.add(f"{relative}/{name}" if relative else name)
            for name in list(dirnames):
                if os.path.islink(os.path.join(dirpath, name)):
                    os.unlink(os.path.join(dirpath, name))
                    dirnames.remove(name)

    def put(self, path: str, data: bytes | Path) -> None:
        content = data.read_bytes() if isinstance(data, Path) else data
        self.wanted.add(path)
        target = self.staging / path
        parent = path.rpartition("/")[0]
        if parent not in self.dirs:
            self._make_folder(parent)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        current = self.live / path
        if _same_bytes(current, content):
            self.unchanged += 1
            if not _same_inode(current, target):
                target.unlink(missing_ok=True)
                _link_or_copy(current, target)
            return
        self.written += 1
        if path in self.files and _same_bytes(target, content) and not _same_inode(current, target):
            return
        # never write through a hard link: that would change the live site too
        target.unlink(missing_ok=True)
        target.write_bytes(content)

    def _make_folder(self, parent: str) -> None:
        parts = parent.split("/")
        for index in range(1, len(parts) + 1):
            prefix = "/".join(parts[:index])
            if prefix not in self.dirs:
                place = self.staging / prefix
                if place.is_symlink() or place.is_file():
                    place.unlink()  # a file where a folder must now be
                place.mkdir(exist_ok=True)
                self.dirs.add(prefix)

    def remove_stale(self) -> None:
        for stale in self.files - self.wanted:
            place = self.staging / stale
            if place.is_file() or place.is_symlink():
                place.unlink()
        needed = {""}
        for path in self.wanted:
            parts = path.split("/")[:-1]
            needed.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        for folder in sorted(self.dirs - needed, key=len, reverse=True):
            shutil.rmtree(self.staging / folder, ignore_errors=True)


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
    pages = sum(1 for o in outputs if o.path.endswith(".html"))
    return WriteResult(written, len(current) - written, pages), current
