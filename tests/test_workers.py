"""Worker processes end with the build and never hold its output (workers.py)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

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
