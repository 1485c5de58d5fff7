"""When a reader sees the math: math typeset in the browser against math typeset at build time.

    python bench/math_paint.py                 # the example site's longest chapter, CPU slowed 4x, 9 loads a mode
    python bench/math_paint.py --runs 5 --cpu 6

Builds the example site (this repository) twice into bench/out/math-paint/, with `math: {render: browser}` and
with `math: {render: build}`, both with `katex_url: self` so that every file comes from the same local server,
then loads its longest chapter (the post with the most words), and the chapter with the most formulas, in
headless Chromium, each load in a fresh
context (nothing cached), the CPU slowed by Chrome's own throttling (`Emulation.setCPUThrottlingRate`, 4 by
default: a mid-range phone, as Lighthouse's mobile profile has it). For each load it reads, in milliseconds
from the start of navigation:

  first paint          first-contentful-paint
  last formula visible the first frame in which every math element holds KaTeX's output (laid out in a frame
                       before, so that its fonts have been asked for) and every font asked for is in (KaTeX's
                       fonts are display: block: their text is invisible until then)
  load event           loadEventEnd

and prints the medians as a Markdown table.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "math-paint"
NOW = "2026-11-28"
CHROMIUM = "/usr/bin/chromium"
MATH_ELEMENT = 'class="math '  # how the build marks a formula

# Run before the page's own scripts: note the first frame in which all the math is typeset and its fonts are in.
_WATCH = """
window.__mathVisible = null;
let typesetBefore = false;  // the math was typeset by an earlier frame, so laid out: its fonts have been asked for
(function poll() {
  const math = document.querySelectorAll('.math');
  const typeset = document.readyState !== 'loading' && math.length > 0 && [...math].every(m => m.querySelector('.katex'));
  if (typesetBefore && typeset && document.fonts.status === 'loaded') {
    window.__mathVisible = performance.now();
  } else {
    typesetBefore = typeset;
    requestAnimationFrame(poll);
  }
})();
"""
_READ = """() => new Promise(resolve => {
  const done = () => {
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    const nav = performance.getEntriesByType('navigation')[0];
    resolve({paint: paint ? paint.startTime : null, visible: window.__mathVisible, load: nav.loadEventEnd});
  };
  (function wait() {
    const ready = window.__mathVisible !== null && performance.getEntriesByName('first-contentful-paint').length &&
      performance.getEntriesByType('navigation')[0].loadEventEnd > 0;
    ready ? done() : setTimeout(wait, 50);
  })();
})"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def build(mode: str) -> tuple[Path, list[str]]:
    """The example site built with its math typeset in `mode`: its output folder, and the pages of its longest
    chapter and of the chapter with the most formulas."""
    source, output = OUT / f"site-{mode}", OUT / f"public-{mode}"
    shutil.rmtree(source, ignore_errors=True)
    for folder in ("content", "series"):
        shutil.copytree(REPO / folder, source / folder)
    settings = (REPO / "site.yaml").read_text(encoding="utf-8")
    (source / "site.yaml").write_text(settings + f"math: {{render: {mode}}}\nkatex_url: self\n", encoding="utf-8")
    command = [sys.executable, "-m", "primer_site", "build", "-s", str(source), "-o", str(output), "--now", NOW]
    subprocess.run([*command, "--force"], check=True, capture_output=True, env={"PYTHONPATH": str(REPO / "src")})
    sys.path.insert(0, str(REPO / "src"))
    from primer_site.commands.build import BuildOptions, build_site

    site = build_site(BuildOptions(source=source, output=OUT / "model", now=None, jobs=1, cache=False)).site
    assert site is not None
    chapters = [p for p in site.posts if p.chapter]
    longest = max(chapters, key=lambda p: (p.word_count, p.source))
    most_math = max(chapters, key=lambda p: (p.body_html.count(MATH_ELEMENT), p.source))
    return output, [longest.output_path, most_math.output_path]


def load(browser: object, url: str, cpu: float) -> dict[str, float]:
    """One load of `url` in a fresh context (nothing cached), the CPU slowed `cpu` times."""
    context = browser.new_context(viewport={"width": 412, "height": 915})  # type: ignore[attr-defined]  # a phone
    context.add_init_script(_WATCH)
    tab = context.new_page()
    context.new_cdp_session(tab).send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    tab.goto(url, wait_until="load")
    found = tab.evaluate(_READ)
    context.close()
    return found


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="loads per page and mode; medians (default: 9)")
    parser.add_argument("--cpu", type=float, default=4, help="CPU slowdown (default: 4, a mid-range phone)")
    args = parser.parse_args(argv)
    urls, found = {}, {}
    for mode in ("browser", "build"):
        folder, pages = build(mode)
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        for what, page in zip(("longest chapter", "most formulas"), pages, strict=True):
            html = (folder / page).read_text(encoding="utf-8")
            key = (page.removesuffix("/index.html"), what, html.count(MATH_ELEMENT), mode, len(html))
            urls[key] = f"http://127.0.0.1:{server.server_address[1]}/{page.removesuffix('index.html')}"
            found[key] = {"paint": [], "visible": [], "load": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.runs):  # the modes' loads interleaved: other load on the machine falls on both alike
            for key, url in urls.items():
                for name, value in load(browser, url, args.cpu).items():
                    found[key][name].append(value)
        browser.close()
    print(f"Chromium, CPU slowed {args.cpu:g}x, median of {args.runs} loads (ms from navigation):\n")
    print("| page | formulas | math typeset | first paint | last formula visible | load event | page KB |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for (page, what, formulas, mode, size), values in sorted(found.items()):
        paint, visible, loaded = (statistics.median(values[name]) for name in ("paint", "visible", "load"))
        print(
            f"| {page} ({what}) | {formulas} | {mode} | {paint:.0f} | {visible:.0f} | {loaded:.0f} | {size / 1024:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
