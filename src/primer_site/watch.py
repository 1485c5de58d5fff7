"""Watch a site's sources and report changes in batches: a burst of saves becomes one ChangeSet, one rebuild.

An editor that writes a temp file then renames it, or a `git checkout` touching a hundred files, fires many
file-system events within milliseconds; they are collected until the folder has been quiet for a moment.
"""

from __future__ import annotations

import fnmatch
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .discover import CONTENT_DIR, SERIES_DIR
from .theme import STATIC_DIR, TEMPLATES_DIR

CONFIG_FILE = "site.yaml"
WATCHED_DIRS = (CONTENT_DIR, SERIES_DIR, TEMPLATES_DIR, STATIC_DIR)
QUIET_SECONDS = 0.05  # a batch ends once no event came for this long...
MAX_WAIT_SECONDS = 1.0  # ...or once its first event is this old, so a steady stream still rebuilds

# Editors' swap, backup and temp files, and the file-system's own litter: never a reason to rebuild.
IGNORED_NAMES = (
    ".*",  # .x.swp, .#x (Emacs lock), .goutputstream-*, .DS_Store, ...
    "*~",
    "#*#",
    "*.swp",
    "*.swx",
    "*.swo",
    "*.tmp",
    "*.bak",
    "*.part",
    "*.crdownload",
    "4913",  # Vim checks that it may write a folder by creating this file
    "___jb_tmp___*",
    "*___jb_old___",
)
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


def is_ignored_name(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IGNORED_NAMES)


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
        self._closed = False
        # close() joins it; daemon only so that an interrupted close cannot hang the exit
        self._thread = threading.Thread(target=self._run, name="primer-site rebuilds", daemon=True)
        self._thread.start()

    def add(self, paths: Iterable[str]) -> None:
        with self._lock:
            new = set(paths)
            if not new or self._closed:
                return
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending |= new
            self._last = now
            self._lock.notify_all()

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
                    due = min(self._last + self._quiet, self._first + self._max_wait)
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
    def __init__(self, source: Path, batcher: ChangeBatcher, watcher: SourceWatcher) -> None:
        self._source = source
        self._batcher = batcher
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGE_EVENTS:
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return  # a folder's listing changed: the file events themselves say how
        paths = [event.src_path, *([event.dest_path] if event.event_type == "moved" else [])]
        changed = []
        for path in paths:
            text = os.fsdecode(path)
            relative = site_relative(self._source, text)
            if relative is not None:
                changed.append(relative)
            if event.is_directory and event.event_type in ("created", "moved"):
                self._watcher.folder_appeared(text)
        self._batcher.add(changed)


class SourceWatcher:
    """Watches content/, series/, templates/, static/ and site.yaml of a site; batches go to `on_change`.

    Only those are watched (not the whole site folder), so output folders, .primer-cache and node_modules
    cost nothing; a watched folder created later is picked up when it appears.
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
        self._handler = _Forward(self.source, self._batcher, self)
        self._observer = Observer()
        self._observer.daemon = True
        self._scheduled: set[str] = set()
        self._lock = threading.Lock()
        self._observer.schedule(self._handler, str(self.source), recursive=False)  # site.yaml, new folders
        for name in WATCHED_DIRS:
            self._schedule(name)

    def start(self) -> None:
        """Begin watching; returns once the watches are in place."""
        self._observer.start()

    def close(self, timeout: float = 5.0) -> None:
        self._observer.stop()
        self._observer.join(timeout)
        self._batcher.close(timeout)

    def __enter__(self) -> SourceWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def folder_appeared(self, path: str) -> None:
        """A watched folder (e.g. templates/) created after the watch began: watch it from now on."""
        folder = Path(os.path.abspath(path))
        if folder.parent == self.source:
            self._schedule(folder.name)

    def _schedule(self, name: str) -> bool:
        folder = self.source / name
        with self._lock:
            if name not in WATCHED_DIRS or name in self._scheduled or not folder.is_dir():
                return False
            self._observer.schedule(self._handler, str(folder), recursive=True)
            self._scheduled.add(name)
            return True
