"""Files beside the posts (images, SVG, PDF, data, notebooks under content/): published, sized, and put into the
bodies that point at them.

Layout: a file is published at its path under content/, `content/primer-ii/attention.png` →
`/primer-ii/attention.png` (as Jekyll, Quarto and mdBook do), not content-addressed in one folder: its URL is
stable across edits (links from elsewhere keep working, a download keeps its name), every file is published
whether or not a post links to it, and a file that several posts show is one URL, published once.

Bodies are cached with placeholders where a file's URL and an image's size go (references.AssetRef); they are
filled here, on every build, from an index of the files keyed on each file's stat. So a cached body never
carries an image's old size: resizing, replacing or deleting the file changes the next build's pages.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from html import escape
from pathlib import Path
from stat import S_ISREG
from urllib.parse import quote, unquote, urlsplit

from primer_site.errors import Diagnostic, Problems
from primer_site.layout import CACHE_DIR
from primer_site.model import Heading, Link
from primer_site.sources.activecontent import HTML_SUFFIXES, MARKUP_SUFFIXES, active_content_problem
from primer_site.sources.config import SiteConfig
from primer_site.sources.discover import CONTENT_DIR, is_ignored_path
from primer_site.sources.imagesize import ImageProblem, ImageSize, image_size
from primer_site.store import Stamp, stamp_from
from primer_site.syntax.markdown import AssetRef, RenderedBody, render_inline
from primer_site.syntax.rawhtml import rewrite_urls
from primer_site.syntax.references import root_absolute
from primer_site.urls import page_url
from primer_site.workers import start_worker

_PLACEHOLDER = re.compile("\x00([AI])(\\d+)\x00")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
VARIANT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # rasters worth resizing (not GIF: it may be animated)
VARIANTS_DIR = "images"  # in .primer-cache/
_EAGER = ' decoding="async" loading="lazy"'


@dataclass(frozen=True)
class Variant:
    width: int
    output_path: str  # "primer-ii/attention-480w.png"
    file: Path  # in .primer-cache/images/


def asset_output_path(source: str) -> str:
    """Where a file under content/ is published: "content/primer-ii/a.png" → "primer-ii/a.png"."""
    return source.removeprefix(CONTENT_DIR + "/")


# RFC 3986 §3.3: a path segment's characters (pchar) that need no escaping, besides letters, digits and "-._~".
# "%" is not among them: a file's name is text, not a URL, so "x%41.png" is written "x%2541.png". Nor is ",":
# a srcset splits its candidates at commas.
_PATH_SAFE = "/!$&'()*+;=:@"


def file_url(base_path: str, output_path: str) -> str:
    """The URL of a published file: `base_path` (the site's, "/primer/", kept as written in base_url) and the
    file's output path ("vol/a b%.png") percent-encoded as UTF-8 (RFC 3986), "/primer/vol/a%20b%25.png": a server
    that decodes it (urllib.parse.unquote) finds that very file."""
    return page_url(base_path, "/") + quote(output_path, safe=_PATH_SAFE)


class AssetMemo:
    """What earlier builds of this process learnt about the site's files, by file and stat: the dev server
    rebuilds without reading an unchanged image again, or filling an unchanged body again."""

    def __init__(self) -> None:
        self.key: tuple = ()
        self.sizes: dict[tuple[str, Stamp], ImageSize | str] = {}
        self.variants: dict[tuple[str, Stamp, tuple[int, ...]], tuple[Variant, ...] | str] = {}
        self.active: dict[tuple[str, Stamp], tuple[int, str] | None] = {}  # activecontent.active_content_problem
        self.filled: dict[str, tuple[RenderedBody, tuple, RenderedBody, tuple[Diagnostic, ...]]] = {}


class AssetIndex:
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
            self.memo.key, self.memo.filled = key, {}
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

    def fill(
        self, source: str, body: RenderedBody, problems: Problems, summary: str | None = None, summary_line: int = 1
    ) -> RenderedBody:
        """`body` with its files' URLs and its images' sizes in place; problems located at `source`'s lines.

        `summary`: the front matter's (Markdown, at line `summary_line`), which then takes the place of the body's
        first paragraph, with its files' URLs in place too: a listing, series or tag page shows it far from the
        post's folder, so `![A](a.png)` in it must be `/vol/a.png`, as in the body."""
        summary = summary or None  # an empty one: the body's first paragraph, as with none
        summary_html, summary_refs = self._summary(source, summary, summary_line) if summary else ("", ())
        if not body.assets and not summary_refs and summary is None:
            return body
        refs = (*body.assets, *summary_refs)  # a root-absolute URL's stamp: that of the file it names, if one
        facts = (tuple(self.stamps.get(self._inside(r.target) or r.target) for r in refs), summary, summary_line)
        known = self.memo.filled.get(source)
        if known is not None and known[0] is body and known[1] == facts:
            problems.extend(known[3])
            for ref in refs:
                self._use_variants(replace(ref, target=self._inside(ref.target) or ref.target))
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
        filled = replace(
            body,
            html=fill(body.html),
            first_paragraph=summary_html if summary is not None else fill(body.first_paragraph),
            headings=tuple(Heading(h.level, h.id, h.text, fill(h.html)) for h in body.headings),
            labels=tuple(replace(label, html=fill(label.html)) for label in body.labels),
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
            ref = replace(ref, target=inside)
        what = "image" if ref.image else "link to"
        if ref.target == ".." or ref.target.startswith("../"):  # only from a summary: references.py reports a body's
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

    def _image_attributes(self, ref: AssetRef, size: ImageSize, stamp: Stamp) -> str:
        given = dict(ref.given)
        width, height = _whole(given.get("width")), _whole(given.get("height"))
        attributes = []
        # the size the image is laid out at, so nothing moves when it arrives (an author's own kept)
        if "width" not in given and "height" not in given:
            attributes += [f'width="{size.width}"', f'height="{size.height}"']
        elif width is not None and "height" not in given:
            attributes.append(f'height="{round(width * size.height / size.width)}"')
        elif height is not None and "width" not in given:
            attributes.append(f'width="{round(height * size.width / size.height)}"')
        if "srcset" not in given:
            variants = self._use_variants(ref, stamp, size)
            if variants:
                base = self.config.base_path
                candidates = [f"{file_url(base, v.output_path)} {v.width}w" for v in variants]
                candidates.append(f"{file_url(base, asset_output_path(ref.target))} {size.width}w")
                attributes.append(f'srcset="{escape(", ".join(candidates))}"')
                if "sizes" not in given:
                    attributes.append(f'sizes="{escape(self.config.image_sizes)}"')
        if "decoding" not in given:
            attributes.append('decoding="async"')
        if "loading" not in given:
            attributes.append('loading="lazy"')  # but the first image of a page: eager_first_image
        return "".join(" " + a for a in attributes)

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
        close = difflib.get_close_matches(written, list(candidates), n=1, cutoff=0.6)
        if not close:  # a misspelt name in another folder: compare names alone
            by_name: dict[str, str] = {}
            for relative in sorted(candidates, key=len, reverse=True):
                by_name[posixpath.basename(relative)] = relative
            names = difflib.get_close_matches(posixpath.basename(written), list(by_name), n=1, cutoff=0.75)
            close = [by_name[names[0]]] if names else []
        return f' (did you mean "{close[0]}"?)' if close else ""

    # ---------------------------------------------------------------- sizes and variants

    def size(self, target: str, stamp: Stamp) -> ImageSize | str:
        """The image's size, or why it has none; read once per version of the file."""
        key = (target, stamp)
        if key not in self.memo.sizes:
            try:
                self.memo.sizes[key] = image_size(self.root / target)
            except ImageProblem as problem:
                self.memo.sizes[key] = str(problem)
        return self.memo.sizes[key]

    def make_variants(self, bodies: Iterable[RenderedBody], jobs: int) -> None:
        """Make the srcset copies that the bodies' images still lack, on `jobs` processes when there are many (a
        cold build of a site with a thousand images); otherwise each is made when its image is filled."""
        widths = self.config.image_widths
        if not widths or jobs <= 1:
            return
        wanted: dict[tuple[str, Stamp, tuple[int, ...]], ImageSize] = {}
        for body in bodies:
            for ref in body.assets:
                stamp = self.stamps.get(ref.target)
                if not ref.image or stamp is None or not ref.target.lower().endswith(VARIANT_SUFFIXES):
                    continue
                key = (ref.target, stamp, widths)
                if key in self.memo.variants or key in wanted or "srcset" in dict(ref.given):
                    continue
                size = self.size(ref.target, stamp)
                if isinstance(size, ImageSize) and size.width > min(widths):
                    wanted[key] = size
        if len(wanted) < 16:  # fewer than that do not repay starting processes
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        keys = list(wanted)
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=start_worker) as pool:
            made = pool.map(
                _make_variants,
                [self.root] * len(keys),
                [key[0] for key in keys],
                [wanted[key] for key in keys],
                [widths] * len(keys),
                chunksize=max(1, len(keys) // (jobs * 4)),
            )
            self.memo.variants.update(zip(keys, made, strict=True))

    def _use_variants(self, ref: AssetRef, stamp: Stamp | None = None, size: ImageSize | None = None) -> list[Variant]:
        """The narrower copies of an image listed in its srcset (made once, kept in .primer-cache/images)."""
        widths = self.config.image_widths
        stamp = stamp or self.stamps.get(ref.target)
        if not widths or not ref.image or stamp is None or "srcset" in dict(ref.given):
            return []
        if not ref.target.lower().endswith(VARIANT_SUFFIXES):
            return []
        size = size or (known if isinstance(known := self.size(ref.target, stamp), ImageSize) else None)
        if size is None or size.width <= min(widths):
            return []
        key = (ref.target, stamp, widths)
        if key not in self.memo.variants:
            self.memo.variants[key] = _make_variants(self.root, ref.target, size, widths)
        made = self.memo.variants[key]
        if isinstance(made, str):
            return []
        for variant in made:
            self.used_variants[variant.output_path] = variant.file
        return list(made)

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
    fragment, or with a scheme); by the body's rule (references.AssetRef). A link to a post (.md) or one that climbs
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


def _whole(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() and int(value) > 0 else None


def _make_variants(root: Path, target: str, size: ImageSize, widths: tuple[int, ...]) -> tuple[Variant, ...] | str:
    """Resized copies of `target` at each width narrower than it, made once per content (kept by digest); a copy
    no smaller in bytes than the image itself is left out of the srcset (and remembered as such)."""
    from PIL import Image, ImageOps

    source = root / target
    data = source.read_bytes()
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    folder = root / CACHE_DIR / VARIANTS_DIR
    stem, suffix = posixpath.splitext(asset_output_path(target))
    made = []
    for width in sorted(w for w in widths if w < size.width):
        file = folder / f"{digest}-{width}{suffix.lower()}"
        larger = file.with_suffix(".larger")  # made before, and no smaller in bytes than the image itself
        if larger.is_file():
            continue
        if not file.is_file():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with Image.open(io.BytesIO(data)) as image:  # the bytes digested: the file may change meanwhile
                    kind = image.format
                    upright = ImageOps.exif_transpose(image)
                    if upright.mode == "P":
                        upright = upright.convert("RGBA")
                    height = max(1, round(upright.height * width / upright.width))
                    small = upright.resize((width, height), Image.Resampling.LANCZOS)
                    temporary = file.with_name(f".{file.name}.{os.getpid()}")
                    small.save(temporary, format=kind, **({"quality": 85} if kind in ("JPEG", "WEBP") else {}))
                    os.replace(temporary, file)
            except (OSError, ValueError) as error:
                return f"cannot make its {width} px copy ({error})"
        if file.stat().st_size >= len(data):  # a smooth plot's PNG can grow when resampled: no use to a reader
            larger.touch()
            file.unlink()
            continue
        made.append(Variant(width, f"{stem}-{width}w{suffix}", file))
    return tuple(made)


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
