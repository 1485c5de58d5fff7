"""Worker processes end with the build and never hold its output (workers.py)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixture_sites import SRC, make_site, post


def children(pid: int) -> set[int]:
    """The live (not zombie) processes whose parent is `pid`, from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigkill_of_the_build_ends_its_workers_and_its_output_pipe(tmp_path: Path) -> None:
    """A CI step reads the build's output through a pipe; the build is SIGKILLed while its Markdown workers run:
    the pipe reaches EOF within seconds, and no worker is left."""
    body = "\n\n".join(f"Paragraph {i} with *emphasis* $x^{i}$ and `code`." for i in range(400))
    files = {f"content/p{i:03}.md": post(f"Post {i}", body=body) for i in range(400)}
    site = make_site(tmp_path / "site", files)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    build = subprocess.Popen(
        [sys.executable, "-m", "primer_site", "build", "-s", str(site), "--jobs", "2", "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while len(workers) < 2 and build.poll() is None and time.monotonic() < deadline:
        workers = children(build.pid)
        time.sleep(0.02)
    assert len(workers) >= 2, "the build ended before its workers were seen: make the fixture bigger"
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    assert build.stdout is not None
    fd = build.stdout.fileno()
    until = time.monotonic() + 10
    while time.monotonic() < until:
        ready, _, _ = select.select([fd], [], [], max(0.0, until - time.monotonic()))
        if ready and os.read(fd, 1 << 16) == b"":
            break
    else:
        raise AssertionError("the build's output pipe is still held open 10 s after SIGKILL")
    until = time.monotonic() + 5
    while any(alive(pid) for pid in workers) and time.monotonic() < until:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)]


def _square(value: int) -> int:
    return value * value


def test_map_ahead_gives_pool_map_s_results_with_few_chunks_handed_out() -> None:
    """The results of Executor.map, in order, while the caller holds back: never more than `ahead` chunks are
    handed to the workers and not yet taken (pool.map hands out all 50 at once)."""
    from concurrent.futures import ThreadPoolExecutor

    from primer_site.workers import map_ahead

    handed: list[int] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        real = pool.submit

        def submit(*args: object) -> object:
            handed.append(len(args[2]))  # type: ignore[arg-type]
            return real(*args)  # type: ignore[arg-type]

        pool.submit = submit  # type: ignore[method-assign]
        results = map_ahead(pool, _square, list(range(200)), 4, ahead=3)
        assert handed == [4, 4, 4]  # handed out before the first result is asked for
        taken = [next(results) for _ in range(4)]
        assert len(handed) == 4  # one chunk taken, one more handed out
        assert taken + list(results) == [i * i for i in range(200)]
    assert sum(handed) == 200


def test_map_ahead_raises_a_worker_s_error_in_its_turn() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from primer_site.workers import map_ahead

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = map_ahead(pool, lambda v: 1 // (v - 6), list(range(10)), 2, ahead=2)
        assert [next(results) for _ in range(6)] == [1 // (v - 6) for v in range(6)]
        with pytest.raises(ZeroDivisionError):
            next(results)
