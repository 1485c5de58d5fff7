"""What the KaTeX pass costs: a warm `primer-site build --check-math`, and a preview rebuild with the check on.

    python bench/corpus.py --posts 1000 --out bench/out/corpus-1000
    python bench/math_rebuild.py bench/out/corpus-1000/primer            # summary feeds, as the corpus has
    python bench/math_rebuild.py bench/out/corpus-1000/primer --full     # the same with feeds: {content: full}

Works on a copy of the corpus. "warm build" runs `primer-site build --check-math` in a fresh process after one
such build has filled `.primer-cache/` (wall seconds, median of --runs). "rebuild" is what `primer-site serve`
does after a save: `build_site` with the preview's `BuildMemory`, check on, after one post was edited (median of
--runs edits, each a new formula, after two rebuilds to settle).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from primer_site.commands.build import BuildMemory, BuildOptions, build_site

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (Node's, and a build process's)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def warm_builds(site: Path, runs: int) -> list[tuple[float, float]]:
    command = [sys.executable, "-m", "primer_site", "build", "--check-math", "--now", "2026-06-01"]
    command += ["--source", str(site)]
    subprocess.run(command, check=True, capture_output=True)  # fills the caches
    times = []
    for _ in range(runs):
        started, cpu = time.perf_counter(), _cpu()
        subprocess.run(command, check=True, capture_output=True)
        times.append((time.perf_counter() - started, _cpu() - cpu))
    return times


def rebuilds(site: Path, runs: int) -> list[tuple[float, float]]:
    posts = sorted((site / "content").rglob("*.md"))
    post = posts[len(posts) // 2]
    original = post.read_text(encoding="utf-8")
    memory = BuildMemory()
    options = BuildOptions(source=site, output=site / "preview", now=NOW, check_math=True, fingerprint=False)
    times = []
    for edit in range(runs + 2):
        # a new formula each time: the one formula of the build that no cache holds
        post.write_text(original + f"\n\nEdited: $x_{{{edit}}} + \\alpha^{{{edit}}}$.\n", encoding="utf-8")
        started, cpu = time.perf_counter(), _cpu()
        build_site(options, memory)
        if edit >= 2:
            times.append((time.perf_counter() - started, _cpu() - cpu))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="a primer-site corpus folder (corpus.py's OUT/primer)")
    parser.add_argument("--full", action="store_true", help="build with feeds: {content: full}")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="primer-math-bench-") as folder:
        site = Path(folder) / "site"
        shutil.copytree(args.corpus, site, ignore=shutil.ignore_patterns(".primer-cache", "public"))
        if args.full:
            with (site / "site.yaml").open("a", encoding="utf-8") as config:
                config.write("feeds: {content: full}\n")
        warm = warm_builds(site, args.runs)
        again = rebuilds(site, args.runs)
    for name, times in (("warm build --check-math", warm), ("rebuild, check on", again)):
        wall, cpu = [t[0] for t in times], [t[1] for t in times]
        print(
            f"{name:24} wall median {statistics.median(wall):.3f} s (min {min(wall):.3f}, max {max(wall):.3f}); "
            f"CPU median {statistics.median(cpu):.3f} s"
        )


if __name__ == "__main__":
    main()
