"""Math in real writing no one here wrote: the Markdown documentation SymPy ships in its source package.

    python bench/realworld_math.py                 # this checkout against the `main` branch
    python bench/realworld_math.py --before 11c4e66 --limit 20

It downloads SymPy's sdist with pip (pinned below; not installed, only unpacked into bench/out/realworld/),
reads every Markdown file in it with primer-site's renderer as it is in each of two revisions (`--before`, a
git revision exported with `git archive`, and this checkout), and sends every formula found to KaTeX (the
node_modules copy the pages' version is pinned to) in headless Chromium. It prints, for each revision, the
files, the formulas found (inline and display) and KaTeX's errors, then the formulas found by one revision
only. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "realworld"
PACKAGE = "sympy==1.14.0"
CHROMIUM = Path("/usr/bin/chromium")
KATEX = ROOT / "node_modules" / "katex" / "dist" / "katex.min.js"

# Run in a subprocess whose PYTHONPATH is one revision's src/: each file's formulas as JSON.
EXTRACT = """
import json, sys
from pathlib import Path
from primer_site.syntax.markdown import render_body
found = []
for path in sys.argv[1:]:
    text = Path(path).read_text(encoding="utf-8")
    body, first = text, 1
    if text.startswith("---\\n") and "\\n---\\n" in text[4:]:
        end = text.index("\\n---\\n", 4)
        body, first = text[end + 5:], text[: end + 5].count("\\n") + 1
    for f in render_body(body, path, first).formulas:
        found.append([path, f.line, f.column, f.tex, f.display])
print(json.dumps(found))
"""

CHECK = """(formulas) => formulas.map(([tex, display]) => {
  try { katex.renderToString(tex, {displayMode: display, throwOnError: true}); return null; }
  catch (error) { return String(error.message || error); }
})"""


def markdown_files() -> list[Path]:
    """SymPy's Markdown sources, downloaded and unpacked once."""
    OUT.mkdir(parents=True, exist_ok=True)
    name, _, release = PACKAGE.partition("==")
    archive = OUT / f"{name}-{release}.tar.gz"
    if not archive.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", PACKAGE, "-d", str(OUT)],
            check=True,
        )
    unpacked = OUT / f"{name}-{release}"
    if not unpacked.exists():
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".md")]
            tar.extractall(OUT, members=members, filter="data")
    return sorted(unpacked.rglob("*.md"))


def revision_src(revision: str) -> Path:
    """`src/` of a git revision, exported once into bench/out/realworld/rev-<sha>/."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=ROOT, capture_output=True, text=True, check=True
    )
    folder = OUT / f"rev-{sha.stdout.strip()}"
    if not folder.exists():
        folder.mkdir(parents=True)
        exported = subprocess.run(["git", "archive", revision, "src"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "x", "-C", str(folder)], input=exported.stdout, check=True)
    return folder / "src"


def formulas_with(src: Path, files: list[Path]) -> list[list]:
    result = subprocess.run(
        [sys.executable, "-c", EXTRACT, *map(str, files)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def katex_errors(formulas: list[list]) -> list[str | None]:
    """KaTeX's error for each formula (None: it rendered), run in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.set_content("<!doctype html><title>check</title>")
        page.add_script_tag(path=str(KATEX))
        errors = page.evaluate(CHECK, [[tex, display] for _, _, _, tex, display in formulas])
        browser.close()
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git revision to compare with (default: main)")
    parser.add_argument("--limit", type=int, default=10, help="formulas found by one revision only, shown per side")
    args = parser.parse_args()

    files = markdown_files()
    sides = {f"before ({args.before})": revision_src(args.before), "after (this checkout)": ROOT / "src"}
    found = {label: formulas_with(src, files) for label, src in sides.items()}
    print(
        f"{PACKAGE}: {len(files)} Markdown files, {sum(len(p.read_text(encoding='utf-8')) for p in files):,} characters\n"
    )
    print("| renderer | formulas | inline | display | KaTeX errors in Chromium |")
    print("|---|---:|---:|---:|---:|")
    for label, formulas in found.items():
        errors = katex_errors(formulas)
        display = sum(1 for f in formulas if f[4])
        wrong = sum(1 for e in errors if e)
        print(f"| {label} | {len(formulas)} | {len(formulas) - display} | {display} | {wrong} |")
        for formula, error in zip(formulas, errors, strict=True):
            if error:
                path = Path(formula[0]).relative_to(OUT)
                print(f"|   {path}:{formula[1]}:{formula[2]} | {json.dumps(formula[3])[:60]} | | | {error[:70]} |")
    (before, after) = (found[label] for label in sides)
    only_before = [f for f in before if f not in after]
    only_after = [f for f in after if f not in before]
    for title, only in (("found only before", only_before), ("found only after", only_after)):
        print(f"\n{len(only)} formulas {title}:")
        for path, line, column, tex, display in only[: args.limit]:
            kind = "display" if display else "inline"
            print(f"  {Path(path).relative_to(OUT)}:{line}:{column} {kind} {json.dumps(tex)[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
