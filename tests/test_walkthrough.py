"""A new author's first hour, through the commands as they type them, in a folder of their own (not the example site)."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from fixture_sites import REPO, SRC, run_cli
from primer_site.sources.config import KATEX_VERSION

NOTE = "(a draft: build with --drafts to see it, remove 'draft: true' to publish)"


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_new_site_three_posts_build_check_serve_an_edit_and_clean(tmp_path: Path) -> None:
    made = run_cli("new", "site", "my-primer", cwd=tmp_path)
    assert made.returncode == 0 and made.stderr == "", made.stderr
    site = tmp_path / "my-primer"
    assert made.stdout.endswith("next: cd my-primer && npm install && primer-site serve\n")

    first = run_cli("new", "post", "Entropy", "--series", "my-first-series", cwd=site)
    second = run_cli("new", "post", "Cross-Entropy", "--series", "my-first-series", cwd=site)
    third = run_cli("new", "post", "Reading notes", cwd=site / "content")  # from a subfolder
    assert [r.returncode for r in (first, second, third)] == [0, 0, 0]
    assert first.stderr == second.stderr == third.stderr == ""
    assert first.stdout == (
        f"created {site}/content/posts/entropy.md as chapter 2 of series 'my-first-series', the next free one {NOTE}\n"
    )
    assert "as chapter 3 of series 'my-first-series', the next free one" in second.stdout
    assert third.stdout == f"created {site}/content/posts/reading-notes.md {NOTE}\n"

    built = run_cli("build", "-D", cwd=site)
    assert built.returncode == 0 and built.stderr == "", built.stderr
    assert built.stdout.startswith("built ") and "(4 posts, 1 series, 0 tags)" in built.stdout
    chapter = (site / "public/posts/entropy/index.html").read_text()
    assert "Chapter 2 of 3" in chapter and "katex.min.js" in chapter
    assert "3 of 3 chapters published" in (site / "public/series/my-first-series/index.html").read_text()

    checked = run_cli("check", "-D", cwd=site / "series")
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    assert checked.stdout.startswith("checked ")

    env = {**os.environ, "PYTHONPATH": str(SRC)}
    serve = subprocess.Popen(
        [sys.executable, "-m", "primer_site", "serve", "-D", "-p", "0"],
        cwd=site,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        # the only reader of the server's stdout, to its end (communicate() would close the pipe under it)
        reader = threading.Thread(target=lambda: [lines.put(line) for line in serve.stdout], daemon=True)  # type: ignore[union-attr]
        reader.start()
        assert lines.get(timeout=30).startswith("built ")
        serving = lines.get(timeout=30)
        assert serving.startswith(f"serving {site} at http://127.0.0.1:"), serving
        port = int(serving.split(" at ")[1].split()[0].rsplit(":", 1)[1].strip("/"))
        status, page = _get(port, "/posts/entropy/")
        assert status == 200 and "Write here." in page and "__primer__/live.js" in page

        post = site / "content/posts/entropy.md"
        post.write_text(post.read_text().replace("Write here.", "Entropy measures surprise."), encoding="utf-8")
        deadline = time.monotonic() + 20
        while "Entropy measures surprise." not in _get(port, "/posts/entropy/")[1]:
            assert time.monotonic() < deadline, "the edit was not served within 20 s"
            time.sleep(0.1)
        assert lines.get(timeout=10).startswith("built ")
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=15)
        reader.join(timeout=15)
        errors = serve.stderr.read()  # type: ignore[union-attr]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(5)
    assert serve.returncode == 0 and errors == "", errors
    assert not (site / "public/posts/entropy/index.html").read_text().count("measures surprise"), (
        "serve kept off public/"
    )

    cleaned = run_cli("clean", cwd=site / "content" / "posts")
    assert cleaned.returncode == 0, cleaned.stderr
    assert cleaned.stdout == (f"removed {site}/.public.staging\nremoved {site}/public\nremoved {site}/.primer-cache\n")
    assert sorted(p.name for p in site.iterdir()) == [
        ".gitignore", "content", "package.json", "series", "site.yaml", "static", "templates",
    ]  # fmt: skip


def test_the_readme_s_first_command_installs_the_katex_the_check_needs() -> None:
    readme = (REPO / "README.md").read_text()
    first = readme.split("## Two commands", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert "pip install -e . && npm ci --omit=dev && primer-site build" in first
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == {"katex": KATEX_VERSION}  # installed by --omit=dev
    assert "dev" not in lock["packages"]["node_modules/katex"]
    assert all(lock["packages"][f"node_modules/{name}"].get("dev") for name in ("axe-core", "vnu-jar"))
