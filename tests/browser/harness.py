"""What the browser tests share: the tools they need, building and serving a site, and reading a page as a reader's
browser does (KaTeX from its pinned CDN URL, served from node_modules, and every console error and failed request)."""

from __future__ import annotations

import json
import mimetypes
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fixture_sites import EXAMPLE_NOW

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
NOW = EXAMPLE_NOW  # pinned: which chapters are published (and which scheduled) must not depend on the day

NODE_MODULES = REPO / "node_modules"
KATEX_DIST = NODE_MODULES / "katex" / "dist"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts"


def katex_version() -> str:
    return json.loads((NODE_MODULES / "katex" / "package.json").read_text(encoding="utf-8"))["version"]


def katex_cdn() -> str:
    """The URL the theme pins; the version must be the one in node_modules, or the SRI hashes would not match."""
    return f"https://cdn.jsdelivr.net/npm/katex@{katex_version()}/dist/"


# ---------------------------------------------------------------- tools: fail, never skip, when one is missing


def _missing(tool: str) -> str | None:
    """What to do to get `tool`, or None when it is there."""
    npm = f"run: npm ci (in {REPO})"
    if tool == "chromium" and not CHROMIUM.is_file():
        return f"Chromium is not at {CHROMIUM}: run: apt-get install chromium"
    if tool == "playwright" and not _importable("playwright.sync_api"):
        return "the playwright Python package is missing: run: pip install -e '.[test]'"
    if tool == "java" and shutil.which("java") is None:
        return "java is missing: run: apt-get install default-jre-headless"
    files = {"katex": KATEX_DIST / "katex.min.js", "axe": AXE_JS, "vnu": VNU_JAR}
    if tool in files and not files[tool].is_file():
        return f"{files[tool]} is missing: {npm}"
    return None


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def require(*tools: str) -> None:
    """Fail the test, saying what to install, when a tool it needs is missing."""
    missing = [message for message in map(_missing, tools) if message]
    if missing:
        pytest.fail("missing test tools:\n  " + "\n  ".join(missing), pytrace=False)


# ---------------------------------------------------------------- build and serve


def build_site(source: Path, output: Path, now: str = NOW, flags: tuple[str, ...] = ()) -> Path:
    """`primer-site build` as a user runs it (with `flags`, e.g. `--no-check-math`); fails the test with the
    build's messages if it fails.

    --no-cache: the body cache is keyed on the package version, so it would hide a change to the Markdown renderer.
    """
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "primer_site", "build", "--source", str(source), "--output", str(output)]
    result = subprocess.run(
        [*command, "--now", now, "--no-cache", *flags], env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        pytest.fail(f"building {source} failed:\n{result.stderr}{result.stdout}", pytrace=False)
    return output


def html_pages(folder: Path) -> list[str]:
    """Every generated page, as a path relative to `folder`, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))


def page_url(base: str, page: str) -> str:
    """The URL a reader uses for a page: `posts/x/index.html` → `BASE/posts/x/`."""
    return base + (page[: -len("index.html")] if page.endswith("index.html") else page)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 on a free port; yields the base URL, ending in "/"."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name=f"serve {folder}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------- the browser side


class Chromium:
    """One headless Chromium for the session, started by the first test that needs it: so a missing browser
    fails that test with what to install, rather than erroring in a fixture."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None

    def new_context(self, base: str, *, width: int = 1280, color_scheme: str = "light", javascript: bool = True) -> Any:
        if self._browser is None:
            require("chromium", "playwright")
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        return new_context(self._browser, base, width=width, color_scheme=color_scheme, javascript=javascript)

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


def new_context(
    browser: Any, base: str, *, width: int = 1280, color_scheme: str = "light", javascript: bool = True
) -> Any:
    """A browser context that fetches KaTeX's pinned CDN files from node_modules and nothing else off `base`."""
    context = browser.new_context(
        viewport={"width": width, "height": 800}, color_scheme=color_scheme, java_script_enabled=javascript
    )
    cdn = katex_cdn()

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(base):
            route.continue_()
        elif url.startswith(cdn):
            _fulfil_from_node_modules(route, url[len(cdn) :].split("?")[0].split("#")[0])
        else:
            route.abort("blockedbyclient")  # a page reaching anywhere else shows up as a failed request

    context.route("**/*", route)
    return context


def _fulfil_from_node_modules(route: Any, relative: str) -> None:
    path = (KATEX_DIST / relative).resolve()
    if not path.is_relative_to(KATEX_DIST.resolve()) or not path.is_file():
        route.fulfill(status=404, body="not in node_modules/katex/dist", headers={"Access-Control-Allow-Origin": "*"})
        return
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # the CORS header lets the integrity check of <script/link crossorigin> (and font loads) pass
    headers = {"Access-Control-Allow-Origin": "*", "Content-Type": content_type}
    route.fulfill(status=200, body=path.read_bytes(), headers=headers)


@dataclass
class PageLog:
    """What went wrong while a page loaded: console errors, uncaught exceptions, failed requests."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.console_errors.clear()
        self.failed_requests.clear()
        self.requests.clear()


def watch(page: Any) -> PageLog:
    """Record the page's console errors and failed requests into a PageLog (cleared per visit by the caller)."""
    log = PageLog()
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(f"{m.text} ({m.location.get('url')})"))
    page.on("pageerror", lambda error: log.console_errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("requestfailed", lambda r: log.failed_requests.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and log.failed_requests.append(f"{r.url}: HTTP {r.status}"))
    return log


def visit(page: Any, log: PageLog, url: str) -> None:
    """Open `url` and wait until it is as a reader sees it: loaded, fonts in, KaTeX done (it runs before load)."""
    log.clear()
    response = page.goto(url, wait_until="load")
    if response is None or response.status >= 400:
        log.failed_requests.append(f"{url}: HTTP {response.status if response else 'no response'}")
    page.evaluate("() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => r())))")


_MATH_STATE = """() => {
  const math = [...document.querySelectorAll('.math')];
  return {
    count: math.length,
    untypeset: math.filter(m => !m.querySelector('.katex')).map(m => (m.dataset.tex || m.textContent).slice(0, 80)),
    errors: [...document.querySelectorAll('.katex-error')].map(e => e.title || e.textContent.slice(0, 80)),
  };
}"""


@dataclass
class MathReport:
    url: str
    math: int
    untypeset: list[str]
    katex_errors: list[str]
    console_errors: list[str]
    failed_requests: list[str]
    katex_requests: list[str]

    def problems(self, expect_math: bool) -> list[str]:
        found = [f"{self.url}: .math without .katex: {tex!r}" for tex in self.untypeset]
        found += [f"{self.url}: .katex-error: {error}" for error in self.katex_errors]
        found += [f"{self.url}: console error: {error}" for error in self.console_errors]
        found += [f"{self.url}: failed request: {failure}" for failure in self.failed_requests]
        if expect_math and not self.math:
            found.append(f"{self.url}: the HTML has math but the page shows no .math element")
        if not expect_math and self.katex_requests:
            found.append(f"{self.url}: no math, yet it requested KaTeX: {', '.join(self.katex_requests)}")
        return found


def check_math(page: Any, log: PageLog, url: str) -> MathReport:
    """Open a page and report how its math came out: the one check used on the site and on the broken fixture."""
    visit(page, log, url)
    state = page.evaluate(_MATH_STATE)
    cdn = katex_cdn()
    return MathReport(
        url=url,
        math=state["count"],
        untypeset=state["untypeset"],
        katex_errors=state["errors"],
        console_errors=list(log.console_errors),
        failed_requests=list(log.failed_requests),
        katex_requests=[u for u in log.requests if u.startswith(cdn) or "katex" in u.rsplit("/", 1)[-1]],
    )


# The tests that read the session's site_read (conftest.py): one worker runs them all, so that each page of the site
# is opened once per run, not once per test.
SITE_READ = pytest.mark.xdist_group("example-site-read")


@dataclass
class PageRead:
    """One page as a reader's browser shows it at 1280 px: its math (check_math's report), then, with every image
    brought in (lazy ones too), its images and the requests that failed by then."""

    math: MathReport
    images: list[dict[str, Any]]
    failed_requests: list[str]
    screenshot: bytes  # as the math left it, before the images were brought in (PNG, screenshot()); b"": not asked


IMAGES = """() => [...document.images].map(img => ({
  src: img.currentSrc || img.src, complete: img.complete, natural: img.naturalWidth,
  width: img.getAttribute('width'), height: img.getAttribute('height'), loading: img.getAttribute('loading'),
}))"""


TALLEST = 16_000  # px of a page a screenshot shows, from its top


def screenshot(page: Any) -> bytes:
    """The page as shown (PNG), its whole width and at most its first TALLEST px."""
    # A volume's print page holds all its chapters (up to 46,000 px tall): a screenshot of all of it outlasts
    # the timeout, so a page is compared over its first TALLEST px (the chapters are compared whole).
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), TALLEST)
    return page.screenshot(clip={"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height})


def read_pages(chromium: Chromium, base: str, pages: list[str], shoot: set[str]) -> dict[str, PageRead]:
    """Open each page once and read what the math and the image checks look at (one visit serves both), and a
    screenshot of each page in `shoot`."""
    context = chromium.new_context(base)
    page = context.new_page()
    log = watch(page)
    read = {}
    for name in pages:
        math = check_math(page, log, page_url(base, name))
        shot = screenshot(page) if name in shoot else b""
        # lazy images load as they near the viewport: bring each one in, then wait for it
        page.evaluate(
            "() => Promise.all([...document.images].map(img => (img.loading = 'eager', img.decode().catch(() => null))))"
        )
        read[name] = PageRead(math, page.evaluate(IMAGES), list(log.failed_requests), shot)
    context.close()
    return read


# ---------------------------------------------------------------- the pages the a11y and layout checks look at

SAMPLE_PAGES = {
    "home": "index.html",
    "series": "series/llm-primer-i/index.html",
    "series-scheduled": "series/llm-primer-iii/index.html",  # chapters still to come are shown muted
    "post": "posts/primer-i-ch04-transformer-architecture/index.html",  # a chapter with math, code and chapter nav
    "tag": "tags/attention/index.html",
    "404": "404.html",
}


def sample_pages(site_dir: Path, *names: str) -> dict[str, str]:
    """{name: page} for the named sample pages; fails if the example site no longer has one."""
    chosen = {name: SAMPLE_PAGES[name] for name in names}
    missing = [page for page in chosen.values() if not (site_dir / page).is_file()]
    if missing:
        pytest.fail(f"the example site has no {', '.join(missing)}: update SAMPLE_PAGES in {__file__}")
    return chosen
