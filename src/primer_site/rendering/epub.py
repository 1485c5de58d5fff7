"""A series → its EPUB 3 (`books: {epub: true}`): one XHTML document per published chapter, in series order.

What goes in follows the EPUB 3.2 specifications (W3C/IDPF: "EPUB Packages 3.2", "EPUB Content Documents 3.2",
"EPUB Open Container Format 3.2") as EPUBCheck reads them:

- the OCF zip: `mimetype` first and stored, then META-INF/container.xml naming the package document;
- the package (OPF): metadata (dc:identifier, dc:title, dc:language, dcterms:modified required; dc:creator for
  each author), a manifest of every file with its media type and properties ("nav", "mathml", "svg",
  "cover-image"), a spine in reading order;
- XHTML content documents (XML, the XHTML namespace; no named entity but XML's five);
- math as MathML (KaTeX's, sanitized as the feeds' is), each <math> with `alttext` holding the TeX, for readers
  that do not render MathML; equation numbers stay outside <math>, as on the pages.

The container and the package are epubpackage.py's; this module makes the documents that go in.
"""

from __future__ import annotations

import html
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from pygments.formatters import HtmlFormatter

from primer_site.errors import Diagnostic, SiteError
from primer_site.layout import STATIC_DIR
from primer_site.math.mathhtml import find_math
from primer_site.model import ChapterNumber, Post, Series
from primer_site.rendering.book import document_body
from primer_site.rendering.epubpackage import CONTAINER, ocf_zip, package_document
from primer_site.rendering.xhtml import MATHML, SVG, XHTML, elements, parse_fragment, xhtml_fragment
from primer_site.sources.activecontent import active_content_problem
from primer_site.sources.config import SiteConfig
from primer_site.sources.discover import CONTENT_DIR
from primer_site.sources.imagesize import raster_format
from primer_site.syntax.inline import parse_title, plain_title

# The image types every EPUB 3.2 reader shows (EPUB 3.2 "Core Media Types"): others need a fallback
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
IMAGE_TYPES[".svg"] = "image/svg+xml"
_STYLESHEET = Path(__file__).with_name("epub.css")
_TAG = re.compile(r"\\tag\*?\s*\{([^{}]*)\}")
_XHTML_TYPE = "application/xhtml+xml"
# what embeds a page or media from its URL: an EPUB holds no such file (only images, see IMAGE_TYPES)
_EMBEDDED = {f"{{{XHTML}}}{name}" for name in ("iframe", "video", "audio", "embed", "object")}
# MathML's elements of exactly two arguments, a base and one script (MathML 3 §3.4, §3.3.2, §3.3.3)
_TWO_ARGUMENTS = {f"{{{MATHML}}}{name}" for name in ("msub", "msup", "munder", "mover", "mfrac", "mroot")}


class BookMath(Protocol):
    """The MathML of each formula (feeds.FeedMath: KaTeX's, sanitized)."""

    def element(self, post: Post, tex: str, display: bool) -> str: ...


@dataclass(frozen=True)
class BookWords:
    """The words the book shows, in the site's language (the theme's catalogue)."""

    contents: str
    chapter_label: Callable[[ChapterNumber | None, str], str]


ReadFile = Callable[[str], bytes | None]  # a site-relative path → the file's bytes, None if there is none


def epub_book(
    series: Series, config: SiteConfig, math: BookMath | None, words: BookWords, read_file: ReadFile
) -> bytes:
    """The EPUB of `series` (its published chapters, `series.posts`); SiteError with every image it cannot hold
    (remote, missing, or of a type readers need not show), each at the line of the chapter that shows it."""
    posts = tuple(series.posts)
    documents = [f"c{number:03d}.xhtml" for number in range(1, len(posts) + 1)]
    images = _Images(config, read_file)
    urls = [post.url for post in posts]
    chapters = [_chapter(post, config, math, words, images, urls, documents) for post in posts]
    images.raise_problems()
    files: dict[str, bytes] = {}
    manifest = []  # (id, href, media type, properties)
    for number, (document, (text, properties)) in enumerate(zip(documents, chapters, strict=True), 1):
        files[f"EPUB/{document}"] = text.encode("utf-8")
        manifest.append((f"c{number:03d}", document, _XHTML_TYPE, properties))
    title = plain_title(series.title)
    language = config.language
    authors = _authors(posts, config)
    files["EPUB/title.xhtml"] = _title_page(title, authors, config, series, language).encode("utf-8")
    files["EPUB/nav.xhtml"] = _nav(title, posts, documents, words, language).encode("utf-8")
    files["EPUB/cover.svg"] = _cover(title, authors).encode("utf-8")
    files["EPUB/style.css"] = _stylesheet(config)
    for href, (data, _) in images.files.items():
        files[f"EPUB/{href}"] = data
    manifest = [
        ("title", "title.xhtml", _XHTML_TYPE, ""),
        ("nav", "nav.xhtml", _XHTML_TYPE, "nav"),
        *manifest,
        ("cover", "cover.svg", "image/svg+xml", "cover-image"),
        ("css", "style.css", "text/css", ""),
        *((f"img{n:03d}", href, kind, "") for n, (href, (_, kind)) in enumerate(images.files.items(), 1)),
    ]
    spine = ["title", "nav", *(item[0] for item in manifest if item[1] in documents)]
    files["EPUB/content.opf"] = package_document(series, config, title, authors, posts, manifest, spine).encode("utf-8")
    files["META-INF/container.xml"] = CONTAINER.encode("utf-8")
    return ocf_zip(files)


# ---------------------------------------------------------------- chapters


def _chapter(
    post: Post,
    config: SiteConfig,
    math: BookMath | None,
    words: BookWords,
    images: _Images,
    urls: Sequence[str],
    documents: Sequence[str],
) -> tuple[str, str]:
    """One chapter's XHTML document, and its manifest properties ("mathml", "svg")."""
    body = _with_mathml(post, post.body_html, math)
    body = document_body(body, urls, documents)
    heading = _with_mathml(post, parse_title(post.title).html, math)
    label = _label(post, words)
    header = (
        f'<p class="chapter-number">{html.escape(label)}</p>' if label else ""
    ) + f'<h1 class="chapter-title">{heading}</h1>'
    tree = parse_fragment(f'<header class="chapter-header">{header}</header>\n{body}')
    properties = set()
    for element in elements(tree):
        if element.tag in _TWO_ARGUMENTS:
            _group_script(element)
        if element.tag == f"{{{MATHML}}}math":
            properties.add("mathml")
        elif element.tag == f"{{{SVG}}}svg":
            properties.add("svg")
        elif element.tag == f"{{{XHTML}}}img":
            images.place(element, post)
        elif element.tag == f"{{{XHTML}}}script":
            properties.add("scripted")  # an author's raw HTML: EPUB readers may run it, if told it is there
        elif element.tag in _EMBEDDED:
            images.embedded(element, post)
        elif element.tag == f"{{{XHTML}}}a":
            _absolute_link(element, config)
    try:
        text = xhtml_fragment(tree)
    except ValueError as error:
        raise SiteError(f"books: epub: {error}: an EPUB's chapters are XML", post.source, 1) from None
    document = _document(plain_title(post.title), config.language, text, "chapter")
    return document, " ".join(sorted(properties))


def _label(post: Post, words: BookWords) -> str:
    """ "Chapter 3" before a chapter's title, unless the title says it already ("Chapter 3 — Attention"), as the
    volume's references page has it."""
    return words.chapter_label(post.chapter, post.title)


def _with_mathml(post: Post, fragment: str, math: BookMath | None) -> str:
    """`fragment` with each math element replaced by its MathML, `alttext` holding its TeX; the numbers of a
    display's rows (KaTeX's MathML leaves its `\\tag`s' cells empty) written after it, outside <math>."""
    found = find_math(fragment).elements
    if not found:
        return fragment
    if math is None:
        raise AssertionError(f"{post.source}: the book's math was not made")  # build.py asks KaTeX for it
    parts, at = [], 0
    for element in found:
        mathml = math.element(post, element.tex, element.display)
        if mathml.startswith("<math"):
            mathml = f'<math alttext="{html.escape(element.tex)}"' + mathml[len("<math") :]
        if element.display and 'class="mml-eqn-num"' in mathml:
            numbers = "".join(f'<span class="eqno">({html.escape(tag)})</span>' for tag in _TAG.findall(element.tex))
            mathml = f'<span class="equation-body">{mathml}</span><span class="eqno-rows">{numbers}</span>'
        parts.append(fragment[at : element.tag] + mathml)
        at = element.close
    return "".join(parts) + fragment[at:]


def _group_script(element: ET.Element) -> None:
    """A script of more than one element as one <mrow>: KaTeX writes `\\lambda_{\\max}` as <msub> of three children
    (<mi>λ</mi><mi>max</mi><mo>⁡</mo>), where MathML 3 (§3.4) wants two, and EPUB readers validate it."""
    children = list(element)
    if len(children) > 2:
        row = ET.Element(f"{{{MATHML}}}mrow")
        for child in children[1:]:
            element.remove(child)
            row.append(child)
        row.tail, row[-1].tail = row[-1].tail, None
        element.append(row)


def _absolute_link(element: ET.Element, config: SiteConfig) -> None:
    """A link to a page of the site outside the volume: the reader is not on the site, so it names the site."""
    href = element.get("href")
    if href and href.startswith("/") and not href.startswith("//"):
        element.set("href", config.origin + href)


class _Images:
    """The images the chapters show, each put in the book once (images/001.png…), in the order first shown."""

    def __init__(self, config: SiteConfig, read_file: ReadFile) -> None:
        self.config, self.read_file = config, read_file
        self.files: dict[str, tuple[bytes, str]] = {}  # href in the book → (bytes, media type)
        self.placed: dict[str, str] = {}  # site-relative path → href in the book
        self.problems: list[Diagnostic] = []
        self._lines: tuple[str, dict[str, int]] = ("", {})  # a chapter's source, and the line of each of its links

    def place(self, element: ET.Element, post: Post) -> None:
        src = element.get("src", "")
        for attribute in ("srcset", "sizes", "loading", "decoding"):  # narrower copies: the book holds one
            element.attrib.pop(attribute, None)
        href = self._href(src, post)
        if href is not None:
            element.set("src", href)

    def embedded(self, element: ET.Element, post: Post) -> None:
        """An <iframe>, <video>, <audio>, <embed> or <object> (an author's raw HTML): an error, since an EPUB holds
        none of what they show."""
        name = element.tag.rpartition("}")[2]
        url = element.get("src") or element.get("data") or ""
        self._problem(
            post,
            url,
            f"books: epub: <{name}{f' src={url!r}' if url else ''}> cannot be in an EPUB, which holds only text and "
            "images: link to it instead (<a href=…>), or leave `epub` out of `books:`",
        )

    def _href(self, src: str, post: Post) -> str | None:
        parts = urlsplit(src)
        if parts.scheme or parts.netloc:
            return self._problem(
                post,
                src,
                f"books: epub: the image {src!r} is not a file of the site, and an EPUB shows only the images it "
                "holds: save it beside the post and link to that file",
            )
        path = unquote(posixpath.normpath(posixpath.join(post.url, parts.path)))
        base = self.config.base_path
        inside = path[len(base) :] if path.startswith(base) else None
        suffix = posixpath.splitext(path)[1].lower()
        if suffix not in IMAGE_TYPES:
            return self._problem(
                post,
                src,
                f"books: epub: the image {src!r} is not of a type every EPUB reader shows "
                f"({', '.join(sorted(set(IMAGE_TYPES)))}): convert it",
            )
        if inside in self.placed:
            return self.placed[inside]
        data = None
        if inside is not None:
            for folder in (CONTENT_DIR, STATIC_DIR):
                data = self.read_file(f"{folder}/{inside}")
                if data is not None:
                    break
        if data is None:
            return self._problem(
                post, src, f"books: epub: the image {src!r} is not a file under {CONTENT_DIR}/ or {STATIC_DIR}/"
            )
        assert inside is not None
        wrong = _not_what_it_says(data, suffix, path)
        if wrong:
            return self._problem(post, src, f"books: epub: the image {src!r} {wrong}")
        href = self.placed[inside] = f"images/{len(self.files) + 1:03d}{'.jpg' if suffix == '.jpeg' else suffix}"
        self.files[href] = (data, IMAGE_TYPES[suffix])
        return href

    def _problem(self, post: Post, src: str, message: str) -> None:
        if self._lines[0] != post.source:  # each chapter's links read once: linear in a chapter's images
            self._lines = (post.source, {link.href: link.line for link in reversed(post.links)})
        self.problems.append(Diagnostic(post.source, self._lines[1].get(src, 1), 0, "error", message))
        return None

    def raise_problems(self) -> None:
        if self.problems:
            raise SiteError(diagnostics=self.problems)


# the format Pillow reads in each raster type's bytes (imagesize.raster_format)
_RASTER_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF"}
# a link or a CSS url() to another host, in an SVG's text (lower case): an EPUB holds every file it shows (EPUB 3.3,
# "Remote resources": an image's own references must be inside the package)
_REMOTE_IN_SVG = re.compile(r"(?:href\s*=\s*[\"']?|url\(\s*[\"']?)\s*(?:[a-z][a-z0-9+.-]*:)?//")


def _not_what_it_says(data: bytes, suffix: str, path: str) -> str:
    """Why an image's bytes cannot go into the book as the type its name says (EPUBCheck's OPF-029, RSC-006 and
    OPF-014 would reject the book), or "": a raster whose bytes are another format, an SVG that is not SVG, runs
    script (activecontent's rule) or shows a file from another host. Linear in len(data)."""
    if suffix in _RASTER_FORMATS:
        found = raster_format(data)
        if found != _RASTER_FORMATS[suffix]:
            said = f"{found} data" if found else "no image Pillow can read"
            return (
                f"holds {said}, not {_RASTER_FORMATS[suffix]} as its name says, and EPUB readers go by the type: "
                f"save it under the name of its format (or convert it)"
            )
        return ""
    text = data[:4096].decode("utf-8", "replace").lower()
    if "<svg" not in text:
        return "is not SVG (no <svg> element at its start): save it under the name of its format"
    active = active_content_problem(path, data)
    if active is not None:
        return (
            f"runs script (line {active[0]} of the SVG {active[1].split(', which')[0].removeprefix('this SVG ')}), "
            "and an EPUB's images run none: remove it from the SVG, or leave `epub` out of `books:`"
        )
    remote = _REMOTE_IN_SVG.search(data.decode("utf-8", "replace").lower())
    if remote is not None:
        return (
            "shows a file from another host, and an EPUB holds every file it shows: save that file beside the SVG "
            "and link it by a relative path"
        )
    return ""


# ---------------------------------------------------------------- the other documents


def _document(title: str, language: str, body: str, kind: str) -> str:
    lang = html.escape(language)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="{XHTML}" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="{lang}" lang="{lang}">\n'
        f'<head>\n<meta charset="utf-8"/>\n<title>{html.escape(title, quote=False)}</title>\n'
        '<link rel="stylesheet" type="text/css" href="style.css"/>\n</head>\n'
        f'<body class="{kind}">\n{body}\n</body>\n</html>\n'
    )


def _title_page(title: str, authors: Sequence[str], config: SiteConfig, series: Series, language: str) -> str:
    names = "".join(f'<p class="book-author">{html.escape(name)}</p>' for name in authors)
    url = html.escape(config.origin + series.url)
    body = (
        '<section class="title-page" epub:type="titlepage">\n'
        f'<h1 class="book-title">{html.escape(title)}</h1>\n{names}\n'
        f'<p class="book-site">{html.escape(config.title)}</p>\n'
        f'<p class="book-link"><a href="{url}">{url}</a></p>\n</section>'
    )
    return _document(title, language, body, "title")


def _nav(title: str, posts: Sequence[Post], documents: Sequence[str], words: BookWords, language: str) -> str:
    items = []
    for post, document in zip(posts, documents, strict=True):
        label = _label(post, words)
        text = f"{label} {plain_title(post.title)}" if label else plain_title(post.title)
        items.append(f'<li><a href="{document}">{html.escape(text)}</a></li>')
    body = (
        f'<nav epub:type="toc" id="toc" role="doc-toc">\n<h1>{html.escape(words.contents)}</h1>\n<ol>\n'
        + "\n".join(items)
        + "\n</ol>\n</nav>"
    )
    return _document(title, language, body, "contents")


def _cover(title: str, authors: Sequence[str]) -> str:
    """A generated cover: the title (wrapped), the authors below it."""
    lines, line = [], ""
    for word in title.split():
        if line and len(line) + 1 + len(word) > 22:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    texts = [
        f'<text x="300" y="{240 + 64 * n}" font-size="44" text-anchor="middle">{html.escape(text)}</text>'
        for n, text in enumerate(lines)
    ]
    texts.append(f'<text x="300" y="760" font-size="28" text-anchor="middle">{html.escape(", ".join(authors))}</text>')
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="{SVG}" version="1.1" width="600" height="900" viewBox="0 0 600 900">\n'
        '<rect width="600" height="900" fill="#f4f1ea"/>\n'
        '<rect x="30" y="30" width="540" height="840" fill="none" stroke="#333" stroke-width="3"/>\n'
        '<g font-family="serif" fill="#222">\n' + "\n".join(texts) + "\n</g>\n</svg>\n"
    )


def _stylesheet(config: SiteConfig) -> bytes:
    """The book's own styles, then the code highlighting of the site's light Pygments style."""
    code = HtmlFormatter(style=config.highlight_light).get_style_defs(".highlight")
    return _STYLESHEET.read_bytes() + b"\n/* code highlighting */\n" + code.encode("utf-8") + b"\n"


def _authors(posts: Sequence[Post], config: SiteConfig) -> tuple[str, ...]:
    """The volume's authors: its chapters' (each chapter's own, else its series', else the site's), in order."""
    names = dict.fromkeys(name for post in posts for name in post.authors)
    if not names and config.author:
        names[config.author] = None
    return tuple(names)
