"""Fixture sites written inline, the CLI run in a subprocess, and output trees compared exactly."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from primer_site.commands.build import BuildMemory, BuildOptions, BuildResult, build_site

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

# Fixture builds' pinned "now": which posts are published (and which are scheduled) must not depend on the day.
NOW = datetime(2026, 6, 1, tzinfo=UTC)
NOW_ARG = NOW.date().isoformat()  # the same day as the CLI's --now takes it
EXAMPLE_NOW = "2026-11-28"  # the example site's (the repository's own chapters): which are published, which scheduled


# Every site needs its settings (a build without site.yaml is an error): fixture sites get these unless they give
# their own, or say {"site.yaml": None} to have none.
SITE_YAML = "title: Test site\nbase_url: https://example.org/\n"


def make_site(root: Path, files: dict[str, str | None]) -> Path:
    """Write a fixture site: {relative path: text}; text is dedented. A new site gets SITE_YAML unless `files`
    names site.yaml (None: no site.yaml at all)."""
    if not (root / "site.yaml").exists() and "site.yaml" not in files:
        files = {"site.yaml": SITE_YAML, **files}
    for relative, text in files.items():
        if text is None:
            continue
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def post(title: str = "A post", date: str = "2026-01-05", body: str = "Hello.", **front: object) -> str:
    """A post's text with the given front matter keys (values written as YAML flow)."""
    lines = ["---", f"title: {title!r}" if "'" not in title else f'title: "{title}"', f"date: {date}"]
    for key, value in front.items():
        lines.append(f"{key}: {value}")
    lines += ["---", body, ""]
    return "\n".join(lines)


def build_result(site: Path, memory: BuildMemory | None = None, **options: object) -> BuildResult:
    """Build a fixture site in this process as the tests do: pinned to NOW, one job, no cache, into SITE/public.
    `options` are BuildOptions fields that replace those defaults (e.g. output=..., cache=True, now=...)."""
    fields = {"output": site / "public", "now": NOW, "jobs": 1, "cache": False, **options}
    return build_site(BuildOptions(source=site, **fields), memory)  # type: ignore[arg-type]


def build(site: Path, now: datetime = NOW, **options: object) -> Path:
    """`build_result`, giving the output folder (SITE/public unless output=... says otherwise)."""
    build_result(site, now=now, **options)
    return Path(options.get("output") or site / "public")  # type: ignore[arg-type]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m primer_site ARGS` in a subprocess, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "primer_site", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """A folder that `make(folder)` fills once per test run, for session fixtures that build a site: under
    pytest-xdist the first worker to ask makes it while the others wait on a lock, and all of them read the same
    folder (each worker's temp folder is a child of the run's). Callers must not write into it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    run_root = tmp_path_factory.getbasetemp().parent
    folder, done = run_root / name, run_root / f"{name}.done"
    with open(run_root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():  # a worker whose `make` failed left no mark: the next one tries (and says why) again
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


def build_cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`primer-site build --source SITE --now NOW ARGS` in a subprocess, as a user runs it."""
    return run_cli("build", "--source", str(site), "--now", NOW_ARG, *args)


def stats(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry below `folder` (itself included) with its inode, size and mtime: "nothing was touched"."""
    found = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        info = path.lstat()
        found[path.relative_to(folder).as_posix()] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return found


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: for comparing two outputs exactly."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Hang(BaseException):
    """Work outran its time bound (a BaseException, so that no `except Exception` in the build hides it)."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread if the block takes longer than `seconds`: a hang fails, never stalls, a test."""

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"the build took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def new_process_json(script: str, prefix: Path, *args: str, write: bool = True) -> Any:
    """What `python -c SCRIPT ARGS` prints (JSON) in a new process whose bytecode, and the tables primer-site keeps
    beside it, are under `prefix`; `write`: bytecode may be written (PYTHONDONTWRITEBYTECODE unset)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(SRC), PYTHONPYCACHEPREFIX=str(prefix))
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def damaged_tables(good: bytes, header_line: bytes) -> list[bytes]:
    """A kept table's file spoilt each way a reader must refuse: one byte of its data flipped, another header
    (`header_line`, its first line, gets a byte more: another Python's), cut in half, empty."""
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    return [bytes(damaged), good.replace(header_line, header_line + b"\x00", 1), good[: len(good) // 2], b""]


def count_post_wholes(patch: pytest.MonkeyPatch) -> list[str]:
    """With `patch`, the sources of the posts whose whole fingerprint (caches/dependencies.whole_fingerprint) is
    worked out from now until the patch is undone, in order."""
    from primer_site.caches import dependencies
    from primer_site.model import Post

    worked: list[str] = []
    whole = dependencies.whole_fingerprint

    def counting(obj: Any, *args: Any) -> Any:
        if type(obj) is Post:
            worked.append(obj.source)
        return whole(obj, *args)

    patch.setattr(dependencies, "whole_fingerprint", counting)
    return worked


@contextmanager
def posts_fingerprinted() -> Iterator[list[str]]:
    """count_post_wholes inside the block; the patch is undone at its end, on its own."""
    with pytest.MonkeyPatch.context() as patch:
        yield count_post_wholes(patch)
