"""Fixture sites written inline, the CLI run in a subprocess, and output trees compared exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"


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
