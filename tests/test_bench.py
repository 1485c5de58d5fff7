"""The benchmark's corpus builds cleanly with primer-site and with the Hugo skeleton, page for page.

No timings here: bench/run.py measures; this only keeps its inputs honest.
"""

from __future__ import annotations

import filecmp
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from primer_site.publish.output import MARKER

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
POSTS = 30


def _bench_run_module():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-corpus")
    subprocess.run([sys.executable, str(BENCH / "corpus.py"), "--posts", str(POSTS), "--out", str(out)], check=True)
    return out


def _post_slugs(corpus_dir: Path) -> set[str]:
    return {path.stem for path in (corpus_dir / "primer" / "content").glob("*/*.md")}


def _pages(output: Path) -> set[str]:
    """Every file written, but the theme's CSS and JS (Hugo's skeleton has none) and primer-site's output marker."""
    files = {path.relative_to(output).as_posix() for path in output.rglob("*") if path.is_file()}
    return {f for f in files if not f.startswith(("css/", "js/")) and f != MARKER}


def test_corpus_is_deterministic_and_complete(corpus_dir: Path, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(BENCH / "corpus.py"), "--posts", str(POSTS), "--out", str(tmp_path)], check=True
    )
    for name in ("primer", "hugo/content"):
        comparison = filecmp.dircmp(corpus_dir / name, tmp_path / name)
        assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    assert len(_post_slugs(corpus_dir)) == POSTS
    assert len(list((corpus_dir / "hugo" / "content" / "posts").glob("*.md"))) == POSTS
    bodies = [p.read_text(encoding="utf-8") for p in (corpus_dir / "primer" / "content").glob("*/*.md")]
    assert all(6_000 < len(body.encode()) < 11_000 for body in bodies)
    assert all(body.count("\n## ") >= 3 and "```python" in body and "\n$$\n" in body for body in bodies)
    assert any('chapter: "' in body for body in bodies), "some chapters are dotted, quoted strings"


def test_primer_site_builds_the_corpus_without_errors(corpus_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "public"
    command = [sys.executable, "-m", "primer_site", "build", "--source", str(corpus_dir / "primer")]
    done = subprocess.run(
        [*command, "--output", str(output), "--now", "2026-06-01"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "no errors and no warnings"
    assert {p.parent.name for p in (output / "posts").glob("*/index.html")} == _post_slugs(corpus_dir)


def test_hugo_skeleton_builds_the_same_pages(corpus_dir: Path, tmp_path: Path) -> None:
    run = _bench_run_module()
    hugo_output, primer_output = tmp_path / "hugo", tmp_path / "primer"
    command = run.hugo_command(run.hugo_binary(), corpus_dir / "hugo", hugo_output, tmp_path / "hugo-cache")
    command.remove("--quiet")  # show Hugo's warnings, so that the test can refuse them
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARN" not in done.stdout + done.stderr and "ERROR" not in done.stdout + done.stderr
    assert {p.parent.name for p in (hugo_output / "posts").glob("*/index.html")} == _post_slugs(corpus_dir)

    primer = run.primer_command(corpus_dir / "primer", primer_output, 1)
    subprocess.run(primer, check=True, capture_output=True)
    hugo_pages, primer_pages = _pages(hugo_output), _pages(primer_output)
    # the benchmark compares like with like: when primer-site gains an output, bench/hugo/ must make it too
    assert hugo_pages == primer_pages, (
        f"only primer-site: {sorted(primer_pages - hugo_pages)[:10]}; only Hugo: {sorted(hugo_pages - primer_pages)[:10]}"
    )
