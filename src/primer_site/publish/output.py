"""The output folder: whether it is primer-site's to replace, where a symlinked one really is, and its lock.

A build replaces only folders it made: both the output and the staging folder beside it carry a marker
file (MARKER), and a non-empty folder without it is refused before anything in it is touched
(`claim_output`), unless the user says `--force`. A symlinked output (`public -> /var/www/site`) is built
at the link's target: the staging folder sits beside the target, and the link itself is never replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from primer_site.errors import SiteError
from primer_site.layout import CACHE_DIR
from primer_site.store import Stamp, is_racy, stamp_from, stamp_of

# In every output and staging folder a build makes: what tells primer-site that a folder is its own to replace.
MARKER = ".primer-site-output"
NEW_MARKER = MARKER + ".new"  # the next marker, before `mark` renames it over the old
_MARKER_TEXT = b"This folder is made by primer-site build: the next build replaces everything in it.\n"
_LIST_HEADING = "The files it wrote here (any other stops the next build, which names it):\n"
# In the staging folder between builds (never in a published folder): the files the live folder got from the last
# build, one path a line, so that the next build can tell a file the user put there from one it wrote.
WRITTEN_LIST = ".primer-site-written"


def staging_folder(output: Path) -> Path:
    return output.parent / f".{output.name}.staging"


def live_folder(output: Path) -> Path:
    """The folder a build swaps the site into: `output` itself, or the target of a symlinked output (absolute)."""
    return Path(os.path.realpath(output.absolute()))


def is_marked(folder: Path) -> bool:
    """Whether `folder` holds the marker of a folder primer-site made."""
    marker = folder / MARKER
    return marker.is_file() and not marker.is_symlink()


def mark(folder: Path, written: Collection[str] | None = None) -> None:
    """Put the marker in a folder the build is making; with `written`, the paths (relative, `/`-separated) of every
    file primer-site put in it, one a line after the marker's sentence: the folder's own record of what is ours,
    which a copy of the folder, or one restored without the staging folder and the cache, keeps (read_marker_list).
    Written as NEW_MARKER first, then renamed into place; a NEW_MARKER a killed build left is dropped by
    swap.recover_output."""
    fresh = folder / NEW_MARKER
    fresh.unlink(missing_ok=True)  # a symlink of that name must not be written through
    fresh.write_bytes(marker_bytes(written))
    # renamed over the old one (POSIX rename: one step), so that the folder is never without a marker: a build
    # killed here leaves the old marker or the new, never a folder the next build must refuse as not its own
    os.replace(fresh, folder / MARKER)


def marker_bytes(written: Collection[str] | None = None) -> bytes:
    """The marker's bytes (see `mark`), for a writer that puts it in place itself."""
    listed = "" if written is None else _LIST_HEADING + "".join(f"{path}\n" for path in sorted(written))
    return _MARKER_TEXT + listed.encode("utf-8", "surrogateescape")


def read_marker_list(folder: Path) -> frozenset[str] | None:
    """The files primer-site wrote in `folder`, from its marker (see `mark`); None if the marker has no list (a
    folder made by an older primer-site, or a staging folder still being made)."""
    marker = folder / MARKER
    try:
        if marker.is_symlink():
            return None
        text = marker.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return None
    if _LIST_HEADING not in text:
        return None
    return frozenset(filter(None, text.split(_LIST_HEADING, 1)[1].split("\n")))


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
    if live.is_dir() and os.path.ismount(live):
        raise SiteError(mount_point_message(live))
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


def mount_point_message(live: Path) -> str:
    """The error for an output folder that is a mount point: the build swaps a whole new folder in, by rename."""
    return (
        f"output folder {live} is a mount point (a volume or a tmpfs), which a build cannot replace: it makes the "
        f"new site beside it and renames it into place; build into a folder inside it (--output {live / 'site'}), "
        "or mount the folder above it instead"
    )


def remove_output(output: Path, force: bool = False) -> list[Path]:
    """Remove what builds into `output` made: the output folder (a symlinked output's target is emptied, the link
    and the folder it names are kept), the staging folder, leftovers of killed builds. Returns what was removed.

    A folder without the marker, or an output holding files the last build did not write (see foreign_entries), is
    refused (SiteError, nothing removed) unless `force`.
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
    written = None if force or not live.is_dir() else read_marker_list(live)
    if written is None and not force and live.is_dir():
        written = read_written(staging)
    stray = foreign_entries(live, written) if written is not None else []
    if stray:
        raise SiteError(
            f"the output folder {live} holds what primer-site did not write: "
            + ", ".join(str(live / path) for path in stray)
            + "; nothing was removed: move them out (what the site should publish goes in static/), or pass --force"
        )
    if not live.parent.is_dir():
        return []
    try:
        return _remove(live, staging, linked)
    except OSError as error:  # a read-only file system, a folder not ours to change
        where = f" ({error.filename})" if error.filename else ""
        raise SiteError(f"cannot remove what builds into {live} made: {error.strerror or error}{where}") from None


def _remove(live: Path, staging: Path, linked: bool) -> list[Path]:
    removed = []
    with locked(live.parent):
        leftovers = [live.parent / f".{live.name}.retired", *live.parent.glob(f".{live.name}.tmp-*")]
        for folder in [staging, *(f for f in leftovers if is_marked(f))]:
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder)
                removed.append(folder)
        if linked and live.is_dir():
            for entry in sorted(live.iterdir()):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            removed.append(live)
        elif live.is_dir():
            shutil.rmtree(live)
            removed.append(live)
    return removed


def read_written(staging: Path) -> frozenset[str] | None:
    """The paths (relative to the live folder, `/`-separated) the last build left in the live folder beside
    `staging`, or None when no build recorded them (a folder made by an older primer-site)."""
    try:
        if (staging / WRITTEN_LIST).is_symlink():
            return None
        return frozenset(filter(None, (staging / WRITTEN_LIST).read_text(encoding="utf-8").split("\n")))
    except (OSError, UnicodeDecodeError):
        return None


def record_written(staging: Path, paths: Collection[str]) -> None:
    """Keep in `staging` the list of what the live folder now holds (see read_written): written whole, renamed."""
    temporary = staging / f"{WRITTEN_LIST}.{os.getpid()}"
    temporary.write_text("".join(f"{path}\n" for path in sorted(paths)), encoding="utf-8")
    os.replace(temporary, staging / WRITTEN_LIST)


def foreign_entries(live: Path, written: Collection[str]) -> list[str]:
    """What the live folder holds that is not among `written` (the last build's files, see read_written): files,
    symbolic links, and folders (given once, with a trailing `/`, whatever they hold), sorted, relative to `live`.
    SiteError (`unlistable`) where a folder cannot be listed."""
    folders = folders_of(written)
    found: list[str] = []

    def visit(folder: str) -> None:
        with os.scandir(os.path.join(live, folder)) as entries:
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if relative in folders:
                        visit(relative)
                    else:
                        found.append(f"{relative}/")
                elif relative not in written or entry.is_symlink():
                    found.append(relative)  # primer-site writes no symbolic links

    try:
        visit("")
    except OSError as error:
        raise unlistable(live, error) from None
    return sorted(found)


def unlistable(live: Path, error: OSError) -> SiteError:
    """The error for a folder of the live output that cannot be stat'ed or listed: what it holds is unknown, so no
    build may replace it or take it for the last build's."""
    where = error.filename or live
    return SiteError(
        f"cannot look into {where} in the output folder {live} ({error.strerror or error}): whether it holds files "
        "primer-site did not write is unknown, so the output folder was left as it was; make it readable, or "
        "remove it, and build again"
    )


def folders_of(written: Iterable[str]) -> set[str]:
    """The folders holding these files and their parents, relative, `/`-separated; "" for the folder itself."""
    folders = {""}
    for path in written:
        folder = path.rpartition("/")[0]
        while folder not in folders:  # each folder once: its parents are in already
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def folder_stamps(live: Path, folders: Iterable[str], taken: float) -> dict[str, Stamp]:
    """The stamps of these folders of `live` (store.stamp_of of the folder itself), but those of a folder whose
    entries changed too close to `taken` to be trusted (store.is_racy): `taken` is a moment before which each
    folder held only what it should (what foreign_entries_since then trusts)."""
    stamps = {}
    for folder in folders:
        stamp = stamp_of(os.path.join(live, folder), follow_links=False)
        if stamp is not None and not is_racy(stamp, taken):
            stamps[folder] = stamp
    return stamps


def foreign_entries_since(
    live: Path, written: Collection[str], stamps: Mapping[str, Stamp]
) -> tuple[list[str], dict[str, Stamp]]:
    """What foreign_entries finds, listing only the folders whose stamp is not in `stamps`: a folder whose stamp
    (size, modification and change time, inode) is as it was when it held only what it should has had no entry
    added, removed or renamed since (a folder's modification and change times follow its entries: POSIX rename,
    link, unlink, mkdir, rmdir), so nothing foreign can be in it but in its subfolders, which are looked at each
    on its own. Also the stamps of the folders now found holding only what they should (taken before each was
    listed; too recent ones left out: store.is_racy), for the next look.

    A folder not there (or not a folder) is not listed: its parent's listing shows what is there instead, and the
    live folder itself not there holds nothing foreign, ([], {}). SiteError (`unlistable`) where a folder is there
    but cannot be stat'ed or listed, as foreign_entries."""
    try:
        return _entries_since(live, written, stamps)
    except OSError as error:
        raise unlistable(live, error) from None


def _entries_since(
    live: Path, written: Collection[str], stamps: Mapping[str, Stamp]
) -> tuple[list[str], dict[str, Stamp]]:
    """foreign_entries_since's look, which stops with OSError where a folder cannot be stat'ed or listed."""
    folders = folders_of(written)
    found: list[str] = []
    clean: dict[str, Stamp] = {}
    listed: dict[str, set[str]] = {}  # folder listed → the subfolders of `folders` found in it
    gone: set[str] = set()  # folders that are not there as folders (their parent's listing says what is there)
    base = os.path.join(live, "")
    taken = time.time()
    for folder in sorted(folders, key=len):  # each folder after its parent
        if listed or gone:
            parent = folder.rpartition("/")[0]
            if folder and (parent in gone or (parent in listed and folder not in listed[parent])):
                gone.add(folder)
                continue
        try:
            info = os.stat(base + folder, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            info = None  # any other error (EACCES, EIO, ELOOP) stops the look: what the folder holds is unknown
        if info is None or not stat.S_ISDIR(info.st_mode):
            gone.add(folder)  # its parent's stamp moved with it: listed, it shows what is there instead
            continue
        stamp = stamp_from(info)
        if stamps.get(folder) == stamp:
            clean[folder] = stamp
            continue
        before = len(found)
        present = listed[folder] = set()
        with os.scandir(base + folder) as entries:
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if relative in folders:
                        present.add(relative)
                    else:
                        found.append(f"{relative}/")
                elif relative not in written or entry.is_symlink():
                    found.append(relative)  # primer-site writes no symbolic links
        if len(found) == before and not is_racy(stamp, taken):
            clean[folder] = stamp
    return sorted(found), clean


def foreign_message(shown: Path, stray: Sequence[str]) -> str:
    """The error for files the user put in a live output folder (see foreign_entries)."""
    listed = ", ".join(str(shown / path) + ("/" if path.endswith("/") else "") for path in stray)
    return (
        f"the output folder {shown} holds what primer-site did not write: {listed}; "
        "a build replaces the whole folder, so put what the site should publish in static/ (copied to the same "
        "place in the output, e.g. static/CNAME → CNAME), and remove the rest from the output"
    )


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
    """Refuse an output folder whose replacement would delete the site's own files: the site folder, the
    `protected` folders in it (content/, static/…) and its cache (which holds drafts), or a folder inside them
    or holding them. A symbolic link loop on the way is refused too."""
    try:
        source, output = source.resolve(), output.resolve()
    except (RuntimeError, OSError) as error:  # RuntimeError: a symbolic link loop (Python < 3.13)
        reason = "a symbolic link loop" if isinstance(error, RuntimeError) else error.strerror or str(error)
        raise SiteError(f"output folder {output} cannot be resolved ({reason}): choose another --output") from None
    if output == source or output in source.parents:
        raise SiteError(f"output folder {output} holds the site itself: choose another --output")
    for name in (*protected, CACHE_DIR):
        folder = (source / name).resolve()
        if output == folder or folder in output.parents or output in folder.parents:
            raise SiteError(f"output folder {output} overlaps the site's {name}/ folder: choose another --output")


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder holding the output (flock on the folder itself): no lock file is left."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock
