"""The live preview: build the site into a private folder, serve it, and rebuild it on every change.

The build, the server and the watcher meet only here: the watcher hands change sets to `Preview.rebuild`,
which runs the build and tells the server (and so every open page) how it went. A failed rebuild leaves the
last good site in place, since the build writes nothing on error.
"""

from __future__ import annotations

import gc
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from primer_site.commands.build import BuildMemory, BuildOptions, BuildResult, build_site, sources_settled
from primer_site.errors import Diagnostic, SiteError
from primer_site.preview.server import BuildState, SiteServer
from primer_site.preview.watch import ChangeSet, SourceWatcher

_NO_CHANGES = ChangeSet(frozenset())


@dataclass(frozen=True)
class Rebuilt:
    changes: ChangeSet | None  # None for the first build
    result: BuildResult


@dataclass(frozen=True)
class RebuildFailed:
    changes: ChangeSet | None
    diagnostics: tuple[Diagnostic, ...]
    served: bool = True  # a good build is being served; False: none yet, the pages show the errors


@dataclass(frozen=True)
class RebuildCrashed:
    """A bug, not a problem in the site: the traceback goes to the terminal, the preview stays up."""

    changes: ChangeSet | None
    traceback: str
    served: bool = True


PreviewReport = Rebuilt | RebuildFailed | RebuildCrashed


_COLLECT_EVERY = 64  # rebuilds between two full garbage collections (Preview._freeze_heap)
_DUE_MARGIN_SECONDS = 0.2  # a post is published once "now" is past its date: wake just after it
# a timer waits at most this long, then waits again: a post dated centuries ahead (2400-01-01) would ask for a
# wait longer than the platform's (threading.TIMEOUT_MAX), and the timer thread die with OverflowError
_LONGEST_WAIT_SECONDS = 86_400.0


class Preview:
    """`primer-site serve`: one site built, served and (with `watch`) rebuilt until `close`.

    The site is built into `output`, by default a temporary folder, never the user's public/: a preview must
    not overwrite what `primer-site build` made (drafts and future posts may be shown here).
    """

    def __init__(
        self,
        options: BuildOptions,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        watch: bool = True,
        report: Callable[[PreviewReport], None] = lambda report: None,
        output: Path | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="primer-site-serve-") if output is None else None
        folder = output if output is not None else Path(self._workdir.name) / "site"  # type: ignore[union-attr]
        self.options = replace(options, output=folder, fingerprint=False)
        self._report = report
        self._building = threading.Lock()  # the first build and the watcher's rebuilds never overlap
        self._epoch = 0
        self._rebuilds = 0  # builds since the start, for _freeze_heap
        self.memory = BuildMemory()  # what each rebuild reuses from the one before
        self._unpublished = _NO_CHANGES  # changes since the last good build: what the next good one delivers
        try:
            self.server = SiteServer(folder, host=host, port=port, live_reload=watch, log=log)  # binds the port
        except BaseException:
            self._remove_workdir()
            raise
        self._watcher = SourceWatcher(options.source, self.rebuild) if watch else None
        self._due: threading.Timer | None = None  # the rebuild when the next scheduled post falls due

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        """Watch, build, then serve; returns the site's URL. A failing first build is reported, not raised."""
        if self._watcher is not None:
            self._watcher.start()  # before the build, so that a save during it is not missed
        self.rebuild(None)
        self.server.start()
        return self.server.url

    def rebuild(self, changes: ChangeSet | None) -> None:
        """Build the site, then tell the open pages: reload, swap the stylesheets, or show the errors.

        Two steps, one engine ("look first, verify after"): a build told the watcher's paths looks only at those
        (build_site's `first_look`) and is published at once; then every source file is looked at by its stamp
        (sources_settled), and only if that finds a change the first look missed is the site built and published
        again. A verification that finds nothing assembles and renders nothing. On return both steps are done."""
        with self._building:
            self._build(changes, first_look=changes is not None)
            try:  # stopped (None) when the watcher has more: the rebuild that follows verifies in its turn
                settled = sources_settled(self.options, self.memory, self._more_changes)
            except Exception:  # a bug: the build below meets it too, and reports it with its traceback
                settled = False
            if settled is False:  # a post or series file changed unseen: pages reload, whatever `changes` were
                self._build(changes, first_look=False, found=True)
            self._freeze_heap()

    def _more_changes(self) -> bool:
        """Whether the watcher holds changes for another rebuild (a save during this one)."""
        return self._watcher is not None and self._watcher.waiting()

    def _freeze_heap(self) -> None:
        """Leave what the builds keep out of the cyclic garbage collector's passes (gc.freeze): with the store of a
        5,000-post site in memory, a full collection in the middle of a rebuild costs tens of milliseconds, for
        objects that live as long as the preview. Cycles frozen as garbage are not freed until unfrozen: every
        _COLLECT_EVERY rebuilds the heap is unfrozen and collected once, after the rebuild was served."""
        self._rebuilds += 1
        if self._rebuilds % _COLLECT_EVERY == 0:
            gc.unfreeze()
            gc.collect()
        gc.freeze()

    def wait_settled(self) -> None:
        """Return once the rebuild in progress, its verification included, is done (at once if there is none): a
        client that saw a rebuild's live-reload event and edits again waits here, or its next save may be seen by
        that verification and served twice (tests, scripted edits)."""
        while True:
            with self._building:
                if not self._more_changes():
                    return
            time.sleep(0.01)  # a batch is on its way: its rebuild takes the lock next

    def _build(self, changes: ChangeSet | None, first_look: bool, found: bool = False) -> None:
        """One build, published: the site served, or the errors shown on its pages. `found`: the build after a
        verification that found a change (`changes` were delivered by the first look, or wait in _unpublished)."""
        pending = self._unpublished | (changes if changes is not None and not found else _NO_CHANGES)
        try:
            told = pending.paths if changes is not None else None
            result = build_site(self.options, self.memory, told, first_look)
            base_path = result.base_path
        except SiteError as error:
            self._unpublished = pending
            self.server.publish(BuildState(self._epoch, "page", error.diagnostics))
            self._report(RebuildFailed(changes, error.diagnostics, self._epoch > 0))
            return
        except Exception as error:  # a bug: keep serving, show it, and give the terminal its traceback
            self._unpublished = pending
            message = f"primer-site crashed while rebuilding ({type(error).__name__}: {error}); see the terminal"
            self.server.publish(BuildState(self._epoch, "page", (Diagnostic("", 0, 0, "error", message),)))
            self._report(RebuildCrashed(changes, traceback.format_exc(), self._epoch > 0))
            return
        self._epoch += 1
        self._unpublished = _NO_CHANGES
        self._rebuild_when_due(result.next_due)
        self.server.set_base_path(base_path)
        change = "css" if changes is not None and not found and pending.css_only else "page"
        self.server.publish(BuildState(self._epoch, change))
        self._report(Rebuilt(changes, result))

    def _rebuild_when_due(self, due: datetime | None) -> None:
        """Build again once the next scheduled post falls due, as a build run at that moment would publish it
        (only while watching: a preview without a watcher shows one build)."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
        if due is None or self._watcher is None:
            return
        seconds = (due - datetime.now(UTC)).total_seconds() + _DUE_MARGIN_SECONDS
        if seconds > _LONGEST_WAIT_SECONDS:
            self._due = threading.Timer(_LONGEST_WAIT_SECONDS, self._wait_again, (due,))
        else:
            self._due = threading.Timer(max(seconds, 0.0), self.rebuild, (None,))
        self._due.daemon = True
        self._due.start()

    def _wait_again(self, due: datetime) -> None:
        """A long wait's next lap (see _LONGEST_WAIT_SECONDS)."""
        with self._building:
            self._rebuild_when_due(due)

    def close(self) -> None:
        """Stop watching, finish a rebuild in progress, stop serving, release the port, close the store (and the
        processes it keeps), remove the temp folder."""
        if self._due is not None:
            self._due.cancel()
        if self._watcher is not None:
            self._watcher.close()
        self.server.close()
        with self._building:  # after a rebuild in progress: its store is not closed under it
            self.memory.close()  # what the store runs (KaTeX's Node process) ends with the preview
            gc.unfreeze()  # what the preview froze (_freeze_heap) is the collector's again
        self._remove_workdir()

    def __enter__(self) -> Preview:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _remove_workdir(self) -> None:
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
