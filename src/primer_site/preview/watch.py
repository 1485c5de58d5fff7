"""Watch a site's sources and report changes in batches: a burst of saves becomes one ChangeSet, one rebuild.

An editor that writes a temp file then renames it, or a `git checkout` touching a hundred files, fires many
file-system events within milliseconds; they are collected until the folder has been quiet for a moment: a short
one after an event that ends a save (a file written and closed, or renamed into place), a longer one after an
event that leaves a file mid-save (created, truncated, being written, moved aside).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from primer_site.layout import CONFIG_FILE, SOURCE_FOLDERS, STATIC_DIR
from primer_site.sources.discover import is_ignored_name

WATCHED_DIRS = SOURCE_FOLDERS
QUIET_SECONDS = 0.05  # a batch ends once no event came for this long...
MAX_WAIT_SECONDS = 1.0  # ...or once its first event is this old, so a steady stream still rebuilds
# ...or, when its last event ended the save of its one file, after this share of QUIET_SECONDS (5 ms): measured
# here (2 cores at load 4), a save's events came at most 8 ms apart (a 240 KB post, vim's move-aside then write)
# and 1.5 ms for an ordinary one, and all of them before the closing write or the rename into place, after which
# the save fires nothing (the wait is a margin, not a need). The edit is served 45 ms sooner; a batch ended too
# early costs one more rebuild, never a stale page (the next batch follows).
SETTLED_SHARE = 0.1

# File contents or the tree changed; opens and plain reads (the build reading sources) are not changes.
_CHANGE_EVENTS = {"created", "modified", "moved", "deleted", "closed"}


@dataclass(frozen=True)
class ChangeSet:
    """The site-relative paths ("/"-separated) changed since the last rebuild."""

    paths: frozenset[str]

    @property
    def css_only(self) -> bool:
        """Only stylesheets changed: open pages can swap them without reloading."""
        return bool(self.paths) and all(
            p.startswith(STATIC_DIR + "/") and p.lower().endswith(".css") for p in self.paths
        )

    def __or__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(self.paths | other.paths)


def site_relative(source: Path, path: str) -> str | None:
    """The path relative to the site folder when a change there matters to the build, else None."""
    try:
        relative = Path(os.path.abspath(path)).relative_to(source)
    except ValueError:
        return None
    parts = relative.parts
    if not parts or any(is_ignored_name(part) for part in parts):
        return None
    if parts == (CONFIG_FILE,) or (parts[0] in WATCHED_DIRS):
        return relative.as_posix()
    return None


class ChangeBatcher:
    """Collects changed paths and hands each batch to `on_change` on its own thread, one batch at a time.

    Changes that arrive while `on_change` runs form the next batch, so rebuilds never overlap and none is lost.
    """

    def __init__(
        self,
        on_change: Callable[[ChangeSet], None],
        quiet: float = QUIET_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self._on_change = on_change
        self._quiet = quiet
        self._max_wait = max_wait
        self._lock = threading.Condition()
        self._pending: set[str] = set()
        self._first = self._last = 0.0
        self._settled = False  # the last event ended a save
        self._closed = False
        # close() joins it; daemon only so that an interrupted close cannot hang the exit
        self._thread = threading.Thread(target=self._run, name="primer-site rebuilds", daemon=True)
        self._thread.start()

    def add(self, paths: Iterable[str], settled: bool = False) -> None:
        """Changes seen now. `settled`: the event ends a save (a file closed after writing, or renamed into place):
        a batch of that one file may end after the shorter quiet (SETTLED_SHARE), unless another event comes."""
        with self._lock:
            new = set(paths)
            if not new or self._closed:
                return
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending |= new
            self._last = now
            self._settled = settled
            self._lock.notify_all()

    def waiting(self) -> bool:
        """Whether changes are waiting for the next batch (a rebuild will follow the one in progress)."""
        with self._lock:
            return bool(self._pending) and not self._closed

    def close(self, timeout: float | None = None) -> None:
        """Drop pending changes and stop, after the rebuild in progress (if any) ends."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._lock.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._closed or self._pending)
                while not self._closed:
                    now = time.monotonic()
                    # one file's save done: the short quiet; a burst of files (a checkout) ends when all is quiet
                    settled = self._settled and len(self._pending) == 1
                    quiet = self._quiet * SETTLED_SHARE if settled else self._quiet
                    due = min(self._last + quiet, self._first + self._max_wait)
                    if now >= due:
                        break
                    self._lock.wait(due - now)
                if self._closed:
                    return
                batch = ChangeSet(frozenset(self._pending))
                self._pending.clear()
            try:
                self._on_change(batch)
            except KeyboardInterrupt:
                return  # Ctrl-C reached the build's worker processes too: the program is stopping


class _Forward(FileSystemEventHandler):
    def __init__(self, batcher: ChangeBatcher, watcher: SourceWatcher) -> None:
        self._batcher = batcher
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGE_EVENTS:
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return  # a folder's listing changed: the file events themselves say how
        gone = [event.src_path] if event.event_type in ("deleted", "moved") else []
        arrived = [event.dest_path] if event.event_type == "moved" else []
        if event.event_type == "created":
            arrived = [event.src_path]
        changed = []
        for path in [event.src_path, *([event.dest_path] if event.event_type == "moved" else [])]:
            relative = self._watcher.relative(os.fsdecode(path))
            if relative is not None:
                changed.append(relative)
        for path in gone:
            self._watcher.folder_gone(os.fsdecode(path))
        for path in arrived:
            self._watcher.folder_appeared(os.fsdecode(path))
        # a save ends with the file closed after writing, or a finished file renamed into place (not away)
        settled = not event.is_directory and (
            event.event_type == "closed"
            or (event.event_type == "moved" and self._watcher.relative(os.fsdecode(event.dest_path)) is not None)
        )
        self._batcher.add(changed, settled)


class SourceWatcher:
    """Watches content/, series/, templates/, static/ and site.yaml of a site; batches go to `on_change`.

    Only those are watched (not the whole site folder), so output folders, .primer-cache and node_modules
    cost nothing. A watched folder created later is picked up when it appears, and again if it is removed and
    made anew. A folder inside them that is a symbolic link is watched at its target (the operating system
    does not follow links into a watched tree), and changes there are reported at the path of the link.
    """

    def __init__(
        self,
        source: Path,
        on_change: Callable[[ChangeSet], None],
        quiet: float = QUIET_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.source = Path(os.path.abspath(source))
        self._batcher = ChangeBatcher(on_change, quiet, max_wait)
        self._handler = _Forward(self._batcher, self)
        self._observer = Observer()
        self._observer.daemon = True
        self._lock = threading.RLock()
        self._watches: dict[str, ObservedWatch] = {}  # site-relative folder → its watch
        self._targets: dict[str, str] = {}  # a linked folder's real path → the site-relative path of the link
        self._observer.schedule(self._handler, str(self.source), recursive=False)  # site.yaml, new folders
        for name in WATCHED_DIRS:
            self._watch(name)

    def start(self) -> None:
        """Begin watching; returns once the watches are in place."""
        self._observer.start()

    def close(self, timeout: float = 5.0) -> None:
        self._observer.stop()
        self._observer.join(timeout)
        self._batcher.close(timeout)

    def waiting(self) -> bool:
        """Whether changes seen are waiting for their batch (ChangeBatcher.waiting)."""
        return self._batcher.waiting()

    def __enter__(self) -> SourceWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def relative(self, path: str) -> str | None:
        """The site-relative path an event's path stands for, when a change there matters to the build."""
        path = os.path.abspath(path)
        with self._lock:
            for target, link in self._targets.items():
                if path == target or path.startswith(target + os.sep):
                    path = str(self.source / link) + path[len(target) :]
                    break
        return site_relative(self.source, path)

    def folder_appeared(self, path: str) -> None:
        """A folder made (or moved, or linked) into place: watch it if it is one of ours or links elsewhere."""
        relative = self.relative(path)
        if relative is None or not os.path.isdir(path):
            return
        with self._lock:
            if "/" not in relative:
                self._watch(relative)
            else:
                self._watch_links_in(relative)

    def folder_gone(self, path: str) -> None:
        """A folder (or a link to one) removed or moved away: drop its watches, so that one made anew is watched."""
        relative = self.relative(path)
        if relative is None:
            return
        with self._lock:
            for folder in [f for f in self._watches if f == relative or f.startswith(relative + "/")]:
                self._unwatch(folder)

    def _watch(self, relative: str) -> None:
        """Watch a site folder (a top-level one, or a linked one inside it), and the links inside it."""
        folder = self.source / relative
        top = relative.split("/")[0]
        if top not in WATCHED_DIRS or relative in self._watches or not folder.is_dir():
            return
        real = os.path.realpath(folder)
        if "/" in relative or os.path.islink(folder):
            if real in self._targets or any(real.startswith(t + os.sep) for t in self._targets):
                return  # a link into a folder already watched (or a loop)
            if self._holds_or_watches(real):
                return  # a link to the site, above it, or into a folder watched as itself: a loop, or watched
            self._targets[real] = relative
            watched = real
        else:
            watched = str(folder)
        self._watches[relative] = self._observer.schedule(self._handler, watched, recursive=True)
        self._watch_links_in(relative)

    def _holds_or_watches(self, real: str) -> bool:
        """Whether the real folder `real` holds the site folder (`ln -s .. content/loop`), or lies inside one of
        its folders watched at their own path: changes there are reported where they are, never under the link."""
        site = os.path.realpath(self.source)
        if site == real or site.startswith(real.rstrip(os.sep) + os.sep):
            return True
        for name, watch in self._watches.items():
            if "/" in name or os.path.islink(self.source / name):
                continue
            watched = os.path.realpath(watch.path)
            if real == watched or real.startswith(watched + os.sep):
                return True
        return False

    def _watch_links_in(self, relative: str) -> None:
        """Watch the target of every linked folder below `relative` (walked without following links)."""
        base = self.source / relative
        for dirpath, dirnames, _ in os.walk(base):
            for name in list(dirnames):
                if os.path.islink(os.path.join(dirpath, name)):
                    dirnames.remove(name)
                    inner = os.path.relpath(os.path.join(dirpath, name), self.source).replace(os.sep, "/")
                    self._watch(inner)
        if os.path.islink(base) and relative not in self._watches:
            self._watch(relative)

    def _unwatch(self, relative: str) -> None:
        watch = self._watches.pop(relative)
        for target, link in list(self._targets.items()):
            if link == relative:
                del self._targets[target]
        with contextlib.suppress(KeyError, OSError):
            self._observer.unschedule(watch)
