"""The long profile of the pandoc oracle (tests/test_math_oracle.py): thousands of generated bodies.

    python bench/math_oracle.py                     # 5,000 bodies, seed 1
    python bench/math_oracle.py --bodies 20000 --seed 7

Each body's formulas as primer-site reads them are compared with the Math elements pandoc reads (pandoc from
the pypandoc-binary package); it prints how many agree, how many differ for each listed difference, and
every body no listed difference explains (the exit code is then 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from math_corpus import TRICKY, random_bodies
from test_math_oracle import DIFFERENCES, differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="pandoc processes at a time")
    args = parser.parse_args()

    started = time.perf_counter()
    bodies = [*TRICKY.values(), *random_bodies(args.seed, args.bodies)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(differences, bodies))
    counts = Counter(outcome or "agree" for _, _, outcome in outcomes)
    formulas = sum(len(ours) for ours, _, _ in outcomes)
    print(json.dumps({"seed": args.seed, "bodies": len(bodies), "formulas": formulas, **counts,
                      "seconds": round(time.perf_counter() - started, 1)}, indent=2))  # fmt: skip
    for name, reason in DIFFERENCES.items():
        print(f"- {name}: {reason}")
    unexplained = [
        (body, ours, theirs) for body, (ours, theirs, o) in zip(bodies, outcomes, strict=True) if o == "unexplained"
    ]
    for body, ours, theirs in unexplained[:20]:
        print(f"\nunexplained: {json.dumps(body)}\n  primer-site: {ours}\n  pandoc:      {theirs}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
