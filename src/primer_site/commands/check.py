"""`primer-site check`: build into a temporary folder, then check what a reader would trip over.

Links and images in a post are reported at the Markdown line that holds them; links that come
from templates at the page that shows them.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import tempfile
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from primer_site.commands.build import BuildOptions, BuildResult, build_site
from primer_site.errors import Diagnostic, Problems
from primer_site.layout import STATIC_DIR
from primer_site.model import Site
from primer_site.sources.dates import RFC3339_DATE_TIME


@dataclass(frozen=True)
class CheckResult:
    build: BuildResult
    pages: int
    links: int
    external: int
    diagnostics: tuple[Diagnostic, ...]


class _PageParser(HTMLParser):
    """The ids on a page and the URLs it points at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("name"):
            self.ids.add(str(values["name"]))
        for attribute in ("href", "src"):
            value = values.get(attribute)
            if value and not (tag == "link" and values.get("rel") in ("canonical", "alternate") and "://" in value):
                self.urls.append(value)


def check_site(options: BuildOptions, external: bool = False, timeout: float = 10.0) -> CheckResult:
    """Build into a temporary folder and check it: every problem of one run, the build's errors included.

    The site is written even when the build has errors (BuildOptions.keep_going), so that a broken #fragment
    does not hide a broken link elsewhere; only when a template error left pages out are links not checked
    (each link to a missing page would be reported too). SiteError when nothing could be built.
    """
    with tempfile.TemporaryDirectory(prefix="primer-check-") as folder:
        output = Path(folder) / "site"
        result = build_site(replace(options, output=output, keep_going=True))
        assert result.site is not None
        checker = _Checker(output, result.site, result.base_path)
        problems = Problems()
        problems.extend(result.warnings)
        problems.extend(result.errors)
        links = 0
        if result.every_page:
            links = checker.check_posts(problems)
            links += checker.check_pages(problems)
        else:
            problems.warning("links were not checked: the template errors above left pages out of the site")
        checker.check_feeds(problems)
        links += checker.check_stylesheets(problems)
        _check_chapter_gaps(result.site, problems)
        external_count = 0
        if external:
            external_count = _check_external(result.site, problems, timeout)
        return CheckResult(result, len(checker.pages), links, external_count, tuple(sorted(problems.items)))


class _Checker:
    def __init__(self, output: Path, site: Site, base_path: str) -> None:
        self.output, self.site, self.base_path = output, site, base_path
        self.pages = sorted(p.relative_to(output).as_posix() for p in output.rglob("*.html"))
        self.parsed: dict[str, _PageParser] = {}
        self.reported: set[tuple[str, str]] = set()
        self.from_markdown: set[str] = set()  # URLs a post's Markdown holds: checked, and located, at its line
        # the volumes' PDFs: `build` renders them, `check` does not (seconds of Chromium each), so a link to one
        # is whole when the build would make it
        self.books = {unquote(one.book_url("pdf")) for one in site.series_wanting("pdf")}

    def parse(self, page: str) -> _PageParser:
        if page not in self.parsed:
            parser = _PageParser()
            parser.feed((self.output / page).read_text(encoding="utf-8", errors="replace"))
            self.parsed[page] = parser
        return self.parsed[page]

    def problem_with(self, url: str, page_url: str) -> str | None:
        """Why `url`, seen on the page at `page_url`, does not resolve (None when it does)."""
        absolute = urljoin("http://site.invalid" + page_url, url)
        parts = urlsplit(absolute)
        if parts.netloc != "site.invalid" or parts.scheme not in ("http", "https"):
            return None  # another host, mailto:, data: … are not ours to check here
        path = unquote(parts.path)
        if not path.startswith(self.base_path):
            return f"{path} is outside the site's base path {self.base_path}"
        relative = path[len(self.base_path) :]
        target = self.output / relative
        if relative == "" or relative.endswith("/") or target.is_dir():
            target = target / "index.html"
        if not target.is_file() and path not in self.books:
            return "no such page or file in the built site"
        if parts.fragment and target.suffix == ".html":
            page = target.relative_to(self.output).as_posix()
            if unquote(parts.fragment) not in self.parse(page).ids:
                return f"no element with id {unquote(parts.fragment)!r} on {page_url_of(page, self.base_path)}"
        return None

    def check_posts(self, problems: Problems) -> int:
        count = 0
        for post in self.site.posts:
            for link in post.links:
                count += 1
                why = self.problem_with(link.href, post.url)
                self.reported.add((post.output_path, link.href))
                self.from_markdown.add(link.href)
                if why:
                    kind = "image" if _looks_like_image(link.href) else "link to"
                    problems.error(f"{kind} {link.href!r}: {why}", post.source, link.line)
        return count

    def check_pages(self, problems: Problems) -> int:
        count = 0
        for page in self.pages:
            for url in self.parse(page).urls:
                if (page, url) in self.reported or url in self.from_markdown or "\x00" in url:
                    continue
                count += 1
                why = self.problem_with(url, page_url_of(page, self.base_path))
                if why:
                    self.reported.add((page, url))
                    problems.error(f"link to {url!r} (from the page's template): {why}", page)
        return count

    def check_stylesheets(self, problems: Problems) -> int:
        """Every URL a published stylesheet loads (@import, url()) must be in the site: an error at its line of the
        stylesheet in static/ (its name without the fingerprint)."""
        count = 0
        said: set[tuple[str, int, str]] = set()  # a stylesheet is published under two names: said once
        for sheet in sorted(self.output.rglob("*.css")):
            relative = sheet.relative_to(self.output).as_posix()
            source = f"{STATIC_DIR}/{_FINGERPRINT.sub('', relative)}"
            css = sheet.read_text(encoding="utf-8", errors="replace")
            for url, line in stylesheet_urls(css):
                count += 1
                why = self.problem_with(url, page_url_of(relative, self.base_path))
                if why and (source, line, url) not in said:
                    said.add((source, line, url))
                    problems.error(f"stylesheet loads {url!r}: {why}", source, line)
        return count

    def check_feeds(self, problems: Problems) -> None:
        for feed in sorted(self.output.rglob("feed.xml")):
            relative = feed.relative_to(self.output).as_posix()
            try:
                root = ET.parse(feed).getroot()
            except ET.ParseError as exc:
                problems.error(f"feed is not well-formed XML: {exc}", relative)
                continue
            atom = "{http://www.w3.org/2005/Atom}"
            for entry in root.findall(f"{atom}entry"):
                for element in ("id", "title", "updated"):
                    if len(entry.findall(f"{atom}{element}")) != 1:
                        problems.error(f"feed entry without exactly one <{element}>", relative)
            for stamp in (*root.iter(f"{atom}updated"), *root.iter(f"{atom}published")):
                if not RFC3339_DATE_TIME.fullmatch(stamp.text or ""):  # RFC 4287 §3.3: an RFC 3339 date-time
                    problems.error(f"feed date {stamp.text!r} is not an RFC 3339 date-time", relative)


# What a stylesheet loads (CSS Cascading, @import; CSS Values, url()): @import "x", url(x), url("x"). One token
# pattern, each token consumed whole (a comment or string left open runs to the end of the text or line), so that
# the scan reads each character once whatever the text.
_CSS_TOKEN = re.compile(
    r"""/\*.*?(?:\*/|\Z)|"([^"\n]*)"?|'([^'\n]*)'?|(url\(\s*)([^()'"\s]*)|(@import)\b""", re.DOTALL | re.IGNORECASE
)
_FINGERPRINT = re.compile(r"\.[0-9a-f]{8}(?=\.(?:css|js)$)")  # the content hash theme.asset_names adds


def stylesheet_urls(css: str) -> list[tuple[str, int]]:
    """Each URL a stylesheet loads (@import, url()), with its 1-based line; one pass over the text."""
    found = []
    line, counted = 1, 0
    waiting = False  # after `@import` or an empty `url(`: the string that comes next is a URL
    for match in _CSS_TOKEN.finditer(css):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        url = None
        if match.group(3) is not None:
            url, waiting = match.group(4) or None, not match.group(4)
        elif match.group(5) is not None:
            waiting = True
        elif quoted is not None:
            url, waiting = (quoted if waiting else None), False
        else:
            continue  # a comment
        if url and not url.startswith(("data:", "#")):
            line += css.count("\n", counted, match.start())
            counted = match.start()
            found.append((url, line))
    return found


def page_url_of(page: str, base_path: str) -> str:
    return base_path + page.removesuffix("index.html")


def _looks_like_image(href: str) -> bool:
    return bool(re.search(r"\.(png|jpe?g|gif|svg|webp|avif)$", urlsplit(href).path, re.IGNORECASE))


def _check_chapter_gaps(site: Site, problems: Problems) -> None:
    """Whole chapter numbers from 1 to the last should all exist, unless the series declares the gap."""
    for series in site.series:
        numbers = {p.chapter.parts[0] for p in series.posts if p.chapter and not p.chapter.is_section}
        numbers |= {s.chapter.parts[0] for s in series.scheduled if not s.chapter.is_section}
        numbers.discard(0)
        if not numbers:
            continue
        missing = sorted(set(range(1, max(numbers) + 1)) - numbers - set(series.gaps))
        if missing:
            listed = ", ".join(map(str, missing))
            chapters, them = ("chapter", "it") if len(missing) == 1 else ("chapters", "them")
            problems.warning(
                f"series {series.slug!r} has no {chapters} {listed} (declare {them} with 'gaps: [{listed}]' if intended)",
                series.source or "",
            )


def _check_external(site: Site, problems: Problems, timeout: float) -> int:
    """Each external URL once, 8 at a time, each within `timeout` seconds in all (HEAD, GET if refused, and any
    redirects): a server that sends a byte a second is cut off at the deadline, not waited on for ever."""
    where: dict[str, list[tuple[str, int]]] = {}
    for post in site.posts:
        for link in post.links:
            if urlsplit(link.href).scheme in ("http", "https"):
                where.setdefault(link.href.split("#")[0], []).append((post.source, link.line))

    def fetch(url: str) -> str | None:
        sockets: list[socket.socket] = []
        expired = threading.Event()

        def cut_off() -> None:  # a blocked read returns at once when its socket is shut down
            expired.set()
            for sock in list(sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        opener = urllib.request.build_opener(_RecordingHTTP(sockets), _RecordingHTTPS(sockets))
        deadline = threading.Timer(timeout, cut_off)
        deadline.start()
        try:
            for method in ("HEAD", "GET"):
                request = urllib.request.Request(url, method=method, headers={"User-Agent": "primer-site-check"})
                try:
                    with opener.open(request, timeout=timeout):
                        return None
                except urllib.error.HTTPError as exc:
                    if method == "HEAD" and exc.code in (403, 405, 501) and not expired.is_set():
                        continue  # some servers refuse HEAD: ask again with GET
                    return f"HTTP {exc.code}"
                except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
                    if expired.is_set():
                        return f"no whole answer within {timeout:g} s (--timeout)"
                    reason = getattr(exc, "reason", exc)
                    return f"unreachable ({reason})"
            return None
        finally:
            deadline.cancel()

    urls = sorted(where)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for url, why in zip(urls, pool.map(fetch, urls), strict=True):
            if why:
                for source, line in where[url]:
                    problems.error(f"external link {url!r}: {why}", source, line)
    return len(urls)


class _RecordingHTTP(urllib.request.HTTPHandler):
    """urllib's HTTP handler, noting each connection's socket (so that a deadline can shut it down)."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        super().__init__()
        self.sockets = sockets

    def http_open(self, req: urllib.request.Request) -> Any:
        sockets = self.sockets

        class Connection(http.client.HTTPConnection):
            def connect(self) -> None:
                super().connect()
                sockets.append(self.sock)

        return self.do_open(Connection, req)


class _RecordingHTTPS(urllib.request.HTTPSHandler):
    """urllib's HTTPS handler, noting each connection's socket (see _RecordingHTTP)."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        super().__init__()
        self.sockets = sockets

    def https_open(self, req: urllib.request.Request) -> Any:
        sockets = self.sockets

        class Connection(http.client.HTTPSConnection):
            def connect(self) -> None:
                super().connect()
                sockets.append(self.sock)

        return self.do_open(Connection, req, context=self._context)
