"""What images cost: 1,000 posts without images, with one PNG figure each, and with srcset copies too; a cold build
(no body cache, no output) and a warm one (median of 3), in wall and CPU seconds (user + sys of the build).

    python bench/images.py [--posts 1000] [--out bench/out/images]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import corpus  # noqa: E402

NOW = "2030-01-01"  # every generated post published


def build(site: Path, out: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one `primer-site build`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "primer_site", "build", "--source", str(site), "--output", str(out), "--now", NOW]
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "images")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| posts | images | cold wall s | cold CPU s | warm wall s | warm CPU s | files | MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for kind, images, srcset in (
        ("none", False, False),
        ("one PNG each", True, False),
        ("+ srcset 480, 960", True, True),
    ):
        folder = args.out / f"{args.posts}-{'srcset' if srcset else 'images' if images else 'none'}"
        if not (folder / "primer").is_dir():
            corpus.write_corpus(folder, args.posts, 1, images, srcset)
        site, out = folder / "primer", folder / "public"
        for stale in (site / ".primer-cache", out, folder / ".public.staging"):
            shutil.rmtree(stale, ignore_errors=True)
        cold = build(site, out)
        warm = [build(site, out) for _ in range(3)]
        files = [p for p in out.rglob("*") if p.is_file()]
        megabytes = sum(p.stat().st_size for p in files) / 1e6
        print(
            f"| {args.posts:,} | {kind} | {cold[0]:.2f} | {cold[1]:.2f} | {statistics.median(w for w, _ in warm):.2f} "
            f"| {statistics.median(c for _, c in warm):.2f} | {len(files):,} | {megabytes:.0f} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
