"""Worker processes that end with the build: the start-up every process pool of primer-site gives its workers.

A worker forked by the build inherits the build's standard output and error and every pipe it holds (KaTeX's input
among them). Were it to outlive the build (a CI runner's SIGKILL, the OOM killer), a CI step reading the build's
output would wait for ever, and Node would never see its input close. So each worker:

- asks the kernel to kill it when the build dies (Linux prctl(PR_SET_PDEATHSIG), see prctl(2)); elsewhere a
  watcher thread ends it within a second of the build's end (its parent changes);
- points its own standard output and error at /dev/null: its results and errors travel back through the pool,
  never through the build's output, so it never holds that output open;
- keeps the signal dispositions a process starts with: Ctrl-C ends it silently (SIGINT's default action, no
  KeyboardInterrupt traceback), as the build itself ends; SIGTERM ends it as it ends the build.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # a build that forks no pool does not import them
    from concurrent.futures import Executor, Future

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# The most worker processes a pool may have (--jobs, and one per CPU on a large machine): each is a Python process
# of 50-100 MB holding the parser and the theme, so --jobs 10000 would exhaust memory (and processes) before it
# rendered anything, and past a few dozen the pools' start-up and the writer's one disk cost more than they save.
MAX_JOBS = 64


def start_worker() -> None:
    """The initializer of a pool's worker process (ProcessPoolExecutor(initializer=...)): see the module."""
    parent = os.getppid()
    if not die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    elif os.getppid() != parent:  # the build died before the request took effect
        os._exit(1)
    for number in (signal.SIGINT, signal.SIGTERM):  # the build's handlers (cli.py) are the build's, not ours
        signal.signal(number, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_WRONLY)
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed, or replaced by a test
            stream.flush()
        os.dup2(null, fd)
    os.close(null)


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """Around the start of a pool whose workers are forked: what the build holds is hidden from the collector
    (gc.freeze) while they fork, so that a worker's collections never walk the objects it inherited, which would
    cost it time and copy every page they sit on (the gc module's advice for fork without exec). The build's own
    collector sees them again once the workers are started."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def return_free_memory() -> None:
    """Give the operating system back the free pages of the C heap (glibc's malloc_trim(3)), where there is one: the
    memory a stage let go of stays in the process, counted in its resident size and in that of every worker forked
    from it, until a later allocation happens to reuse it; large strings (posts' Markdown, pages' bytes) live there.
    Elsewhere (macOS, musl), nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    global _TRIM
    if _TRIM is False:
        _TRIM = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _TRIM = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # not glibc
                _TRIM = None
    return _TRIM  # type: ignore[return-value]


_TRIM: object = False  # not looked up yet


def map_ahead(pool: Executor, work: Callable[[T], R], items: Sequence[T], chunk: int, ahead: int) -> Iterator[R]:
    """`pool.map(work, items, chunksize=chunk)`, with at most `ahead` chunks given to the workers and not yet taken
    by the caller: Executor.map hands out every item at once, so a caller slower than its workers (one that writes
    each page) holds every result not yet taken, which at 5,000 posts is most of the site's pages. The first
    chunks are handed out before this returns (the pool's workers are forked then: inside heap_frozen, say).
    Results come in the order of `items`; a worker's exception is raised when its result's turn comes."""
    chunks = (items[start : start + chunk] for start in range(0, len(items), chunk))
    pending: deque[Future[list[R]]] = deque(pool.submit(_work_on, work, part) for part in islice(chunks, ahead))
    return _taken(pool, work, chunks, pending)


def _taken(
    pool: Executor, work: Callable[[T], R], chunks: Iterator[Sequence[T]], pending: deque[Future[list[R]]]
) -> Iterator[R]:
    try:
        while pending:
            results = pending.popleft().result()
            for part in islice(chunks, 1):  # one taken, one handed out
                pending.append(pool.submit(_work_on, work, part))
            yield from results
    finally:  # the caller stopped early (an error): what was not started is not done
        for future in pending:
            future.cancel()


def _work_on(work: Callable[[T], R], part: Sequence[T]) -> list[R]:
    return [work(item) for item in part]


def die_with_parent() -> bool:
    """Ask Linux to send SIGKILL to this process when its parent ends; False where prctl is not there."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
