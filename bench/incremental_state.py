"""The long profile of tests/test_incremental_state.py: random edit sequences, after each step the dev server's
incremental build and a warm build must equal a fresh build byte for byte.

    python bench/incremental_state.py            # 400 sequences of 30 steps (about an hour on 2 cores)
    python bench/incremental_state.py --examples 50 --steps 20

It runs the test under pytest with the "incremental-long" Hypothesis profile (not derandomised: each run tries
new sequences) and exits with pytest's status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=400, help="edit sequences (default: 400)")
    parser.add_argument("--steps", type=int, default=30, help="edits per sequence (default: 30)")
    args = parser.parse_args()
    env = {
        **os.environ,
        "PRIMER_INCREMENTAL_PROFILE": "incremental-long",
        "PRIMER_INCREMENTAL_EXAMPLES": str(args.examples),
        "PRIMER_INCREMENTAL_STEPS": str(args.steps),
        "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--hypothesis-show-statistics"]
    return subprocess.run([*command, str(REPO / "tests/test_incremental_state.py")], env=env, cwd=REPO).returncode


if __name__ == "__main__":
    raise SystemExit(main())
