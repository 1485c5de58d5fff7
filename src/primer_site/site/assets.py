"""Files beside the posts (images, SVG, PDF, data, notebooks under content/): published, sized, and put into the
bodies that point at them.

Layout: a file is published at its path under content/, `content/primer-ii/attention.png` →
`/primer-ii/attention.png` (as Jekyll, Quarto and mdBook do), not content-addressed in one folder: its URL is
stable across edits (links from elsewhere keep working, a download keeps its name), every file is published
whether or not a post links to it, and a file that several posts show is one URL, published once.

Where a file is published and its URL: assetpaths.py; images' sizes, srcset copies and <img> attributes:
assetimages.py.

Bodies are cached with placeholders where a file's URL and an image's size go (bodylinks.AssetRef); they are
filled here, on every build, from an index of the files keyed on each file's stat. So a cached body never
carries an image's old size: resizing, replacing or deleting the file changes the next build's pages.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from itertools import compress
from operator import is_not
from pathlib import Path
from stat import S_ISREG
from urllib.parse import unquote, urlsplit

from primer_site.errors import Diagnostic, Problems
from primer_site.frozen import replaced
from primer_site.lazyregex import lazy_compile
from primer_site.model import Heading, Link
from primer_site.site.assetimages import AssetImages, Variant
from primer_site.site.assetpaths import asset_output_path, file_url
from primer_site.sources.activecontent import HTML_SUFFIXES, MARKUP_SUFFIXES, active_content_problem
from primer_site.sources.config import SiteConfig
from primer_site.sources.discover import CONTENT_DIR, is_ignored_path
from primer_site.sources.imagesize import ImageSize
from primer_site.sources.parse import Document
from primer_site.store import Stamp, stamp_from
from primer_site.syntax.bodylinks import root_absolute
from primer_site.syntax.inline import render_inline
from primer_site.syntax.markdown import AssetRef, RenderedBody
from primer_site.syntax.rawhtml import rewrite_urls
from primer_site.urls import page_url

_PLACEHOLDER = lazy_compile("\x00([AI])(\\d+)\x00")
_SCHEME = lazy_compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_EAGER = ' decoding="async" loading="lazy"'


class AssetMemo:
    """What earlier builds of this process learnt about the site's files, by file and stat: the dev server
    rebuilds without reading an unchanged image again, or filling an unchanged body again."""

    def __init__(self) -> None:
        self.key: tuple = ()
        self.sizes: dict[tuple[str, Stamp], ImageSize | str] = {}
        self.variants: dict[tuple[str, Stamp, tuple[int, ...]], tuple[Variant, ...] | str] = {}
        self.active: dict[tuple[str, Stamp], tuple[int, str] | None] = {}  # activecontent.active_content_problem
        self.filled: dict[str, tuple[RenderedBody, tuple, RenderedBody, tuple[Diagnostic, ...]]] = {}
        self.last: FilledPosts | None = None  # AssetIndex.fill_posts' last call


@dataclass
class FilledPosts:
    """One fill_posts call: its documents and bodies, in order, what it made of each, the files' stamps then, and
    the indexes of the posts that need a look in every build (their fill reads a file, or reported a problem)."""

    documents: list[Document]
    bodies: list[RenderedBody]
    filled: list[RenderedBody]
    stamps: dict[str, Stamp | None]
    looked: list[int]


class AssetIndex(AssetImages):
    """The site's files under content/ for one build, and what each body made of them."""

    def __init__(
        self, root: Path, paths: Sequence[str], config: SiteConfig, problems: Problems, memo: AssetMemo | None = None
    ) -> None:
        """`paths`: site-relative paths of every non-Markdown file under content/ (discover.Sources.assets); one
        that is not a regular file (a FIFO, a device, a broken link) is an error, since it cannot be copied."""
        self.root, self.config = root, config
        self.memo = memo or AssetMemo()
        key = (str(root), config.base_path, config.image_widths, config.image_sizes)
        if self.memo.key != key:
            self.memo.key, self.memo.filled, self.memo.last = key, {}, None
        self.stamps: dict[str, Stamp | None] = {path: _stamp(root / path) for path in paths}
        for path, stamp in self.stamps.items():
            if stamp is None:
                problems.error("not a regular file (a FIFO, a device, a socket or a broken link)", path)
            elif not config.raw_html and path.lower().endswith((*HTML_SUFFIXES, *MARKUP_SUFFIXES)):
                active = self._active(path, stamp)
                if active is not None:
                    problems.error(active[1], path, active[0])
                    self.stamps[path] = None  # never published
        self.used_variants: dict[str, Path] = {}
        self._folders: dict[str, list[str]] = {}

    def _active(self, path: str, stamp: Stamp) -> tuple[int, str] | None:
        """Whether the file is active content (a script a browser runs from the site), from the memo when its stat
        did not change."""
        key = (path, stamp)
        if key not in self.memo.active:
            self.memo.active[key] = active_content_problem(path, (self.root / path).read_bytes())
        return self.memo.active[key]

    # ---------------------------------------------------------------- filling bodies

    def fill_posts(
        self, documents: Sequence[Document], bodies: Sequence[RenderedBody], problems: Problems
    ) -> list[RenderedBody]:
        """fill for each post's body, with its front matter's summary. Where the document and the body are the very
        objects of the last call in this process, and no file's stamp changed since, its fill is the last one: found
        by identity, in C, without a look at each post (but those whose fill reads a file or reports a problem)."""
        last, self.memo.last = self.memo.last, None
        count = len(documents)
        indexes = range(count)
        if last is not None and len(last.documents) == count == len(bodies) and last.stamps == self.stamps:
            filled = list(last.filled)
            changed = compress(indexes, map(is_not, documents, last.documents))
            look = sorted({*changed, *compress(indexes, map(is_not, bodies, last.bodies)), *last.looked})
        else:
            filled, look = list(bodies), indexes
        looked = []
        for index in look:
            doc, body = documents[index], bodies[index]
            reported = len(problems.items)
            filled[index] = self.fill(doc.source, body, problems, doc.summary, doc.line_of("summary"))
            summary_refs = self._summary(doc.source, doc.summary, doc.line_of("summary"))[1] if doc.summary else ()
            if body.assets or summary_refs or len(problems.items) != reported:
                looked.append(index)
        self.memo.last = FilledPosts(list(documents), list(bodies), filled, dict(self.stamps), looked)
        return filled

    def fill(
        self, source: str, body: RenderedBody, problems: Problems, summary: str | None = None, summary_line: int = 1
    ) -> RenderedBody:
        """`body` with its files' URLs and its images' sizes in place; problems located at `source`'s lines.

        `summary`: the front matter's (Markdown, at line `summary_line`), which then takes the place of the body's
        first paragraph, with its files' URLs in place too: a listing, series or tag page shows it far from the
        post's folder, so `![A](a.png)` in it must be `/vol/a.png`, as in the body."""
        summary = summary or None  # an empty one: the body's first paragraph, as with none
        summary_html, summary_refs = self._summary(source, summary, summary_line) if summary else ("", ())
        if not body.assets and not summary_refs:
            # no file to fill in: no placeholder in the HTML either; the summary's HTML only, if it has one
            return body if summary is None else replaced(body, first_paragraph=_fill_summary(summary_html, ()))
        refs = (*body.assets, *summary_refs)  # a root-absolute URL's stamp: that of the file it names, if one
        facts = (tuple(self.stamps.get(self._inside(r.target) or r.target) for r in refs), summary, summary_line)
        known = self.memo.filled.get(source)
        if known is not None and known[0] is body and known[1] == facts:
            problems.extend(known[3])
            for ref in refs:
                self._use_variants(replaced(ref, target=self._inside(ref.target) or ref.target))
            return known[2]
        found: list[Diagnostic] = []
        values = [self._fill_one(source, ref, found) for ref in body.assets]
        if summary is not None:
            summary_values = [self._fill_one(source, ref, found) for ref in summary_refs]
            summary_html = _fill_summary(summary_html, summary_values)

        def fill(text: str) -> str:
            if "\x00" not in text:
                return text
            return _PLACEHOLDER.sub(lambda m: html[int(m.group(2))][m.group(1) == "I"], text)

        html = [(escape(url), attributes) for url, attributes in values]
        links = tuple(Link(url, ref.line) for (url, _), ref in zip(values, body.assets, strict=True) if url)
        filled = replaced(
            body,
            html=fill(body.html),
            first_paragraph=summary_html if summary is not None else fill(body.first_paragraph),
            # a heading or label with no file in it is the very one (most of them)
            headings=tuple(
                h if "\x00" not in h.html else Heading(h.level, h.id, h.text, fill(h.html)) for h in body.headings
            ),
            labels=tuple(x if "\x00" not in x.html else replaced(x, html=fill(x.html)) for x in body.labels),
            others=body.others + links,
        )
        self.memo.filled[source] = (body, facts, filled, tuple(found))
        problems.extend(found)
        return filled

    def _summary(self, source: str, summary: str, line: int) -> tuple[str, tuple[AssetRef, ...]]:
        """The summary's inline HTML (front matter is text: no raw HTML) and the files it points at, in order."""
        return _summary_of(source, summary, line)

    def _fill_one(self, source: str, ref: AssetRef, found: list[Diagnostic]) -> tuple[str, str]:
        """(the URL, the attributes to add to its <img> as HTML), or ("", "") after reporting why there is no file."""
        if ref.target.startswith("/"):  # root-absolute: a file beside the posts, or another path of the site
            inside = self._inside(ref.target)
            if inside is None:
                return page_url(self.config.base_path, ref.target) + ref.suffix, ""
            ref = replaced(ref, target=inside)
        what = "image" if ref.image else "link to"
        if ref.target == ".." or ref.target.startswith("../"):  # only from a summary: bodylinks.py reports a body's
            found.append(Diagnostic(source, ref.line, 0, "error", f"{ref.written!r} is outside the site folder"))
            return "", ""
        if ref.target.endswith(".md"):  # only from a summary: a body's links to posts are resolved by assemble
            message = (
                f"summary: link to {ref.written!r}: a summary cannot link to a post "
                "(it is shown on listings and in feeds): link to it from the body"
            )
            found.append(Diagnostic(source, ref.line, 0, "error", message))
            return "", ""
        if not ref.target.startswith(CONTENT_DIR + "/"):
            found.append(self._outside(source, ref, what))
            return "", ""
        stamp = self.stamps.get(ref.target)
        if stamp is None:
            if (self.root / ref.target).is_dir():
                message = f"{what} {ref.written!r}: {ref.target} is a folder, not a file"
            elif is_ignored_path(ref.target) and os.path.lexists(self.root / ref.target):
                message = (
                    f"{what} {ref.written!r}: {ref.target} is never published, as its name is that of an editor's"
                    " backup or temporary file (like *~, #*#, *.bak, *.tmp, or a name starting with '.'): rename it"
                )
            else:
                message = f"{what} {ref.written!r}: no such file {ref.target}{self._suggestion(source, ref)}"
            found.append(Diagnostic(source, ref.line, 0, "error", message))
            return "", ""
        url = file_url(self.config.base_path, asset_output_path(ref.target)) + ref.suffix
        if not ref.image:
            return url, ""
        size = self.size(ref.target, stamp)
        if isinstance(size, str):
            found.append(Diagnostic(source, ref.line, 0, "error", f"image {ref.written!r}: {ref.target}: {size}"))
            return url, ""
        attributes = self._image_attributes(ref, size, stamp)
        made = self.memo.variants.get((ref.target, stamp, self.config.image_widths))
        if isinstance(made, str):
            message = f"image {ref.written!r}: {made}: it is shown without a srcset"
            found.append(Diagnostic(source, ref.line, 0, "warning", message))
        return url, attributes

    def _inside(self, path: str) -> str | None:
        """The file under content/ that a root-absolute URL path names (`/vol/a.png` → content/vol/a.png), if any."""
        target = posixpath.normpath(CONTENT_DIR + unquote(path))
        return target if target.startswith(CONTENT_DIR + "/") and target in self.stamps else None

    def _outside(self, source: str, ref: AssetRef, what: str) -> Diagnostic:
        hint = ""
        if ref.target.startswith("static/"):
            hint = f" (a file in static/ is linked as /{ref.target.removeprefix('static/')})"
        message = (
            f"{what} {ref.written!r}: {ref.target} is not under {CONTENT_DIR}/, so it is not published with the posts"
            f"{hint}"
        )
        return Diagnostic(source, ref.line, 0, "error", message)

    def _suggestion(self, source: str, ref: AssetRef) -> str:
        """' (did you mean "attention.png"?)': the nearest existing file, written as relative to the post."""
        folder = posixpath.dirname(source)
        candidates = {posixpath.relpath(path, folder): path for path in self.stamps if self.stamps[path]}
        written = posixpath.relpath(ref.target, folder)
        import difflib  # a misspelling's suggestion only: a build that meets none never loads it

        close = difflib.get_close_matches(written, list(candidates), n=1, cutoff=0.6)
        if not close:  # a misspelt name in another folder: compare names alone
            by_name: dict[str, str] = {}
            for relative in sorted(candidates, key=len, reverse=True):
                by_name[posixpath.basename(relative)] = relative
            names = difflib.get_close_matches(posixpath.basename(written), list(by_name), n=1, cutoff=0.75)
            close = [by_name[names[0]]] if names else []
        return f' (did you mean "{close[0]}"?)' if close else ""

    def files(self) -> dict[str, Path]:
        """Every file to publish, by output path: each file under content/, and the image variants used."""
        published = {asset_output_path(path): self.root / path for path, stamp in self.stamps.items() if stamp}
        for path, file in self.used_variants.items():
            published.setdefault(path, file)
        return published


@lru_cache(maxsize=16_384)  # a preview's rebuild fills every post: a summary is rendered again only when it changed
def _summary_of(source: str, summary: str, line: int) -> tuple[str, tuple[AssetRef, ...]]:
    """AssetIndex._summary: a function of its arguments alone."""
    html, _ = render_inline(summary, raw_html=False)
    refs: list[AssetRef] = []

    def note(url: str, at_line: int, image: bool, given: tuple[tuple[str, str], ...]) -> tuple[str, str]:
        ref = _summary_ref(source, url, line, image)
        if ref is not None:
            refs.append(ref)
        return url, ""

    rewrite_urls(html, line, note, lambda at_line, src: None)
    return html, tuple(refs)


def _summary_ref(source: str, url: str, line: int, image: bool) -> AssetRef | None:
    """A summary's URL as a reference to a file beside the post, or None for a URL left as written (absolute, a
    fragment, or with a scheme); by the body's rule (bodylinks.AssetRef). A link to a post (.md) or one that climbs
    out of the site is an AssetRef too, so that filling it reports it: a summary cannot resolve a post's URL."""
    parts = urlsplit(url)
    if root_absolute(url):
        return AssetRef(parts.path, url, line, url[len(parts.path) :], image)
    if not url or _SCHEME.match(url) or url.startswith(("/", "#", "?")) or not parts.path:
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(parts.path)))
    suffix = url[url.index(parts.path) + len(parts.path) :] if parts.path in url else ""
    return AssetRef(target, url, line, suffix, image)


def _fill_summary(html: str, values: Sequence[tuple[str, str]]) -> str:
    """The summary's HTML with its files' URLs (and its images' attributes) from `values`, in document order."""
    remaining = iter(values)

    def fill(url: str, line: int, image: bool, given: tuple[tuple[str, str], ...]) -> tuple[str, str]:
        if _summary_ref("", url, line, image) is None:
            return url, ""
        new, attributes = next(remaining)
        return new or url, attributes

    return rewrite_urls(html, 0, fill, lambda line, src: None)


def _stamp(path: Path) -> Stamp | None:
    """What tells one version of a file from another without reading it (inputs.stamp_of); None for no regular
    file."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return stamp_from(info) if S_ISREG(info.st_mode) else None


# ---------------------------------------------------------------- pages


def eager_first_image(html: str) -> str:
    """The page with its first image loaded at once: lazy loading would delay what the reader sees first."""
    start = html.find("<img ")
    if start < 0:
        return html
    end = html.find(">", start)
    tag = html[start:end]
    if _EAGER not in tag:
        return html
    return html[:start] + tag.replace(_EAGER, ' decoding="async"', 1) + html[end:]
