"""A long, seeded fuzzing campaign over the whole build: the strategies of tests/test_fuzz.py, 10,000+ examples.

    python bench/fuzz.py                              # 10,000 examples, seed 1, one process per CPU (up to 8)
    python bench/fuzz.py --examples 50000 --seed 7 --jobs 4

Each job runs Hypothesis with the "long" profile and its own seed (seed + job number), generation only (no
shrinking: every example counts once), and records every outcome instead of stopping at the first failure. It
prints the counts (examples run, built, refused with located errors, crashes, hangs) as JSON, then one
reproducible failing site per distinct crash. The exit code is 1 when anything crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"


def run_job(seed: int, examples: int) -> dict:
    """One Hypothesis campaign in this process; outcome counts and the first site of each distinct failure."""
    sys.path.insert(0, str(TESTS))
    os.environ["PRIMER_FUZZ_PROFILE"] = "long"
    from hypothesis import Phase, given, settings
    from hypothesis import seed as seeded

    import test_fuzz

    counts: Counter[str] = Counter()
    failures: dict[str, dict] = {}
    slowest = 0.0

    @seeded(seed)
    @settings(test_fuzz.PROFILE, max_examples=examples, phases=[Phase.generate])
    @given(test_fuzz.sites())
    def campaign(files: dict[str, str]) -> None:
        nonlocal slowest
        started = time.perf_counter()
        try:
            outcome, _ = test_fuzz.check_site(files)
            counts[outcome] += 1
        except test_fuzz.Hang as error:
            _record(counts, failures, "hang", error, files)
        except AssertionError as error:  # a located-ness or outside-write failure
            _record(counts, failures, "contract", error, files)
        except Exception as error:  # anything but SiteError escaping the build: a crash
            _record(counts, failures, "crash", error, files)
        counts["examples"] += 1
        slowest = max(slowest, time.perf_counter() - started)

    campaign()
    return {"counts": dict(counts), "failures": failures, "slowest": slowest}


def _record(counts: Counter[str], failures: dict[str, dict], kind: str, error: BaseException, files: dict) -> None:
    counts[kind] += 1
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
    signature = f"{kind}: {type(error).__name__} at {where}"
    if signature not in failures:
        failures[signature] = {"message": str(error)[:500], "files": files, "count": 0}
    failures[signature]["count"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=min(8, os.cpu_count() or 1))
    args = parser.parse_args()

    started = time.perf_counter()
    shares = [args.examples // args.jobs + (1 if i < args.examples % args.jobs else 0) for i in range(args.jobs)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_job, [args.seed + i for i in range(args.jobs)], shares))

    counts: Counter[str] = Counter()
    failures: dict[str, dict] = {}
    for result in results:
        counts.update(result["counts"])
        for signature, found in result["failures"].items():
            if signature in failures:
                failures[signature]["count"] += found["count"]
            else:
                failures[signature] = found
    summary = {
        "seed": args.seed,
        "jobs": args.jobs,
        "examples": counts["examples"],
        "built": counts["built"],
        "refused_with_located_errors": counts["refused"],
        "crashes": counts["crash"],
        "hangs": counts["hang"],
        "contract_failures": counts["contract"],
        "distinct_failures": len(failures),
        "slowest_example_seconds": round(max(r["slowest"] for r in results), 2),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    for signature, found in sorted(failures.items()):
        print(f"\n{signature} ×{found['count']}\n  {found['message']}\n  site: {json.dumps(found['files'])[:2000]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
