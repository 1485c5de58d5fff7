"""Edit-to-served latency of `primer-site serve`: save one post, time until its rebuilt page is served.

Runs the real preview (watcher, incremental rebuild, server, live-reload events) on a copy of a
corpus, edits one post N times and takes the median, then times the same change as a full
`primer-site build`, for the ratio.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from primer_site.commands.build import BuildOptions
from primer_site.commands.serve import Preview


class _Events:
    """The preview's live-reload event stream, read with a timeout."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.connection.request("GET", parts.path + "__primer__/events")
        self.response = self.connection.getresponse()

    def next_build(self) -> dict:
        data: list[str] = []
        while True:
            line = self.response.fp.readline().decode()
            if not line:
                raise RuntimeError("the event stream ended")
            line = line.rstrip("\n")
            if not line and data:
                return json.loads("\n".join(data))
            if line.startswith("data: "):
                data.append(line[6:])


def _fetch(url: str) -> str:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request("GET", parts.path)
    body = connection.getresponse().read().decode()
    connection.close()
    return body


def require_katex(site: Path) -> None:
    """Stop, saying why, when KaTeX cannot run: the preview would skip its math check and look faster than it is."""
    from primer_site.math.katexsetup import locate_katex

    setup = locate_katex(site)
    if setup.problem:
        raise SystemExit(
            f"the math check cannot run here ({setup.problem}): install Node.js and run `npm ci` in the repository "
            "(the benchmark times `serve` as it runs by default, with the math check on)"
        )


def measure(corpus: Path, edits: int = 10, now: str = "2026-06-01") -> dict[str, float]:
    """Median seconds from saving a post to its new text being served (`serve` as it runs by default, the math
    check on), and a full build's seconds."""
    require_katex(corpus)
    from datetime import UTC, datetime

    with tempfile.TemporaryDirectory(prefix="primer-serve-bench-") as folder:
        site = Path(folder) / "site"
        shutil.copytree(corpus, site, ignore=shutil.ignore_patterns(".primer-cache", "public", ".public*"))
        post = sorted((site / "content").rglob("*.md"))[len(list((site / "content").rglob("*.md"))) // 2]
        original = post.read_text(encoding="utf-8")
        slug = post.stem
        moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
        # as `primer-site serve` runs by default: every formula checked by KaTeX on each rebuild
        preview = Preview(BuildOptions(source=site, now=moment, check_math=True), port=0, watch=True)
        try:
            url = preview.start()
            events = _Events(url)
            page = f"{url}posts/{slug}/"
            times = []
            for edit in range(edits):
                marker = f"edited-{edit}-{time.time_ns()}"
                started = time.perf_counter()
                post.write_text(original.replace("\n## ", f"\n{marker}\n\n## ", 1), encoding="utf-8")
                while marker not in _fetch(page):
                    events.next_build()  # wait for the next rebuild, then look again
                times.append(time.perf_counter() - started)
        finally:
            preview.close()
        # the same change as a full build, in a fresh process with the body cache filled
        out = Path(folder) / "public"
        command = [
            sys.executable,
            "-m",
            "primer_site",
            "build",
            "--source",
            str(site),
            "--output",
            str(out),
            "--now",
            now,
        ]
        subprocess.run(command, check=True, capture_output=True)
        post.write_text(original, encoding="utf-8")
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        full = time.perf_counter() - started
    median = statistics.median(times)
    return {"edit_to_served_s": median, "edit_min_s": min(times), "edit_max_s": max(times), "full_build_s": full}


if __name__ == "__main__":
    figures = measure(Path(sys.argv[1]), edits=int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    print(json.dumps(figures, indent=2))
