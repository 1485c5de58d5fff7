"""What a body points at and what points into it: links to other sources, files beside it (images, data), and
the numbered labels (equations, figures, tables, and headings when a series numbers its sections) that
references `[](#eq:kl)` resolve to."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .errors import Diagnostic
from .figures import KIND_NAMES, SIZE_SLOT
from .mathsyntax import DISPLAY_MATH, math_tokens
from .model import Link
from .rawhtml import rewrite_urls

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_TEX_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")


@dataclass(frozen=True)
class SourceLink:
    """A link in the body to another source file: `[text](ch03.md#part)`."""

    target: str  # site-relative source path, e.g. "content/primer-ii/ch03.md"
    fragment: str
    line: int
    written: str  # the href as the author wrote it


@dataclass(frozen=True)
class Label:
    """What a reference can point at: a labelled equation, figure or table, or a heading, with its number
    ("10.3", or "")."""

    id: str
    kind: str  # "equation", "figure", "table" or "section"
    number: str
    html: str  # a heading's inline HTML; "" for the others

    @property
    def reference_html(self) -> str:
        """The text of an empty link to it: `[](#eq:kl)` → "Eq. (10.3)", `[](#fig:attention)` → "Figure 4.2",
        a heading → "10.2 Its title"."""
        if self.kind == "equation":
            return f"Eq. ({self.number})"
        if self.kind in KIND_NAMES:
            return f"{KIND_NAMES[self.kind]} {self.number}"
        return f"{self.number} {self.html}" if self.number else self.html


@dataclass(frozen=True)
class AssetRef:
    """A reference in the body to a file beside it (`![](attn.svg)`, `[data](results.csv)`, `<img src>`): where
    its URL goes, `\\x00A<n>\\x00` in the HTML, is filled in once the site's files are known (assets.py)."""

    target: str  # site-relative path of the file, e.g. "content/primer-ii/attn.svg"
    written: str  # the URL as the author wrote it
    line: int  # 1-based, in the source file
    suffix: str = ""  # "?query#fragment", kept after the published URL
    image: bool = False  # an <img src>: its width, height and loading go to `\\x00I<n>\\x00`
    given: tuple[tuple[str, str], ...] = ()  # attributes of a raw <img> the author set (width, height, loading…)


ASSET_PLACEHOLDER = "\x00A{}\x00"


class _Collector:
    """Gathers a body's links: to other sources (placeholders \\x00L), to files beside it (\\x00A), others."""

    def __init__(self, source: str, labels: dict[str, Label], errors: list[Diagnostic]) -> None:
        self.source, self.labels, self.errors = source, labels, errors
        self.base = posixpath.dirname(source)
        self.sources: list[SourceLink] = []
        self.others: list[Link] = []
        self.assets: list[AssetRef] = []

    def asset(self, url: str, line: int, image: bool = False, given: tuple[tuple[str, str], ...] = ()) -> str | None:
        """The placeholder for `url` if it names a file beside the post (a relative URL that is not a .md file),
        None if it does not; "" for a relative URL that climbs out of the site (an error, reported here)."""
        parts = urlsplit(url)
        if not url or _SCHEME.match(url) or url.startswith(("/", "#", "?")) or not parts.path:
            return None
        if parts.path.endswith(".md"):
            return None
        target = posixpath.normpath(posixpath.join(self.base, unquote(parts.path)))
        if target == ".." or target.startswith("../"):
            self.errors.append(Diagnostic(self.source, line, 0, "error", f"{url!r} is outside the site folder"))
            return ""
        suffix = url[url.index(parts.path) + len(parts.path) :] if parts.path in url else ""
        self.assets.append(AssetRef(target, url, line, suffix, image, given))
        return ASSET_PLACEHOLDER.format(len(self.assets) - 1)

    def link(self, child: Token, empty: bool, line: int) -> None:
        href = str(child.attrGet("href") or "")
        parts = urlsplit(href)
        if href.startswith("#") and len(href) > 1:
            fragment = unquote(href[1:])
            if empty or fragment in self.labels:
                self.sources.append(SourceLink(self.source, fragment, line, href))
                child.attrSet("href", f"\x00L{len(self.sources) - 1}\x00")
                return
        if _SCHEME.match(href) or href.startswith(("/", "#")) or not parts.path.endswith(".md"):
            placeholder = self.asset(href, line)
            if placeholder is None:
                self.others.append(Link(href, line))
            elif placeholder:
                child.attrSet("href", placeholder)
            return
        target = posixpath.normpath(posixpath.join(self.base, unquote(parts.path)))
        self.sources.append(SourceLink(target, unquote(parts.fragment), line, href))
        child.attrSet("href", f"\x00L{len(self.sources) - 1}\x00")

    def image(self, child: Token, line: int) -> None:
        src = str(child.attrGet("src") or "")
        if not (child.children and any(c.content.strip() for c in child.children)):
            self.errors.append(
                Diagnostic(self.source, line, 0, "warning", f"image {src!r} has no alt text: say what it shows")
            )
        placeholder = self.asset(src, line, image=True)
        if placeholder is None:
            self.others.append(Link(src, line))
        elif placeholder:
            child.attrSet("src", placeholder)
            child.meta["slot"] = len(self.assets) - 1

    def raw_html(self, html: str, line: int) -> str:
        """Raw HTML with the URLs of its files replaced by placeholders; its other URLs noted with their lines."""

        def url(value: str, at_line: int, image: bool, given: tuple[tuple[str, str], ...]) -> tuple[str, str]:
            placeholder = self.asset(value, at_line, image, given)
            if not placeholder:
                if placeholder is None:
                    self.others.append(Link(value, at_line))
                return value, ""
            return placeholder, SIZE_SLOT.format(len(self.assets) - 1) if image else ""

        def missing_alt(at_line: int, src: str) -> None:
            message = f'image {src!r} has no alt attribute: say what it shows (alt="" if it shows nothing)'
            self.errors.append(Diagnostic(self.source, at_line, 0, "warning", message))

        return rewrite_urls(html, line, url, missing_alt)


def collect_links(
    tokens: Sequence[Token],
    source: str,
    body_first_line: int,
    labels: dict[str, Label],
    errors: list[Diagnostic] | None = None,
) -> tuple[list[SourceLink], list[Link], list[AssetRef]]:
    """Every link and image with its line; hrefs to other .md files, and URLs of files beside the post (in
    Markdown and in raw HTML), are replaced with placeholders.

    So is a link in the page that is a reference: `[](#eq:kl)` (its text is made from the label), or any link
    to one of the labels: the assemble stage resolves and checks them as it does links to other posts.
    `source` is the body's site-relative path; lines are 1-based lines of that file. Images without alt text
    are warnings, and URLs that climb out of the site errors, appended to `errors`.
    """
    found = _Collector(source, labels, errors if errors is not None else [])
    for token in tokens:
        if token.type == "html_block":
            token.content = found.raw_html(token.content, body_first_line + (token.map[0] if token.map else 0))
            continue
        if token.type != "inline" or not token.children:
            continue
        line = body_first_line + (token.map[0] if token.map else 0)
        for index, child in enumerate(token.children):
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text" or child.type.startswith("math"):
                line += child.content.count("\n")
            elif child.type == "html_inline":
                child.content = found.raw_html(child.content, line)
                line += child.content.count("\n")
            elif child.type == "image":
                found.image(child, line)
            elif child.type == "link_open":
                empty = index + 1 < len(token.children) and token.children[index + 1].type == "link_close"
                found.link(child, empty, line)
    return found.sources, found.others, found.assets


def number_labels(
    md: MarkdownIt,
    tokens: Sequence[Token],
    env: Any,
    chapter: str,
    number_sections: bool,
    source: str,
    first_line: int,
    errors: list[Diagnostic],
) -> dict[str, Label]:
    """Number labelled equations, figures and tables (and h2/h3 headings, if asked), in document order: the
    labels by id.

    "10.3" is the third labelled equation of chapter 10 ("3" without a chapter); figures and tables are
    counted apart, "Figure 10.1" and "Table 10.1". A label used twice, two
    labels on one equation, or a label with spaces or markup is a located error appended to `errors`.
    """
    prefix = f"{chapter}." if chapter else ""
    labels: dict[str, Label] = {}
    equations = sections = subsections = 0
    counts = {"figure": 0, "table": 0}

    def add(label: Label, line: int, column: int = 0) -> None:
        if label.id in labels:
            kind = labels[label.id].kind
            what = {"equation": "an equation", "figure": "a figure", "table": "a table"}.get(kind, "a heading")
            errors.append(Diagnostic(source, line, column, "error", f"label {label.id!r} is already {what}'s label"))
        else:
            labels[label.id] = label

    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id"):
            number = ""
            if number_sections and token.tag == "h2":
                sections, subsections = sections + 1, 0
                number = f"{prefix}{sections}"
            elif number_sections and token.tag == "h3":
                subsections += 1
                number = f"{prefix}{sections}.{subsections}"
            if number:
                token.meta["number"] = number
            html = md.renderer.render(tokens[index + 1].children or [], md.options, env)
            line = first_line + (token.map[0] if token.map else 0)
            add(Label(str(token.attrGet("id")), "section", number, html), line)
        elif token.type == "figure_open" and token.meta.get("label"):
            kind = token.meta["kind"]
            counts[kind] += 1
            token.meta["number"] = f"{prefix}{counts[kind]}"
            line = first_line + (token.map[0] if token.map else 0)
            add(Label(token.meta["label"], kind, token.meta["number"], ""), line)
    for token in math_tokens(tokens):
        if token.type not in DISPLAY_MATH:
            continue
        found = _TEX_LABEL.findall(token.content)
        if token.meta.get("label") is not None:  # `$$ … $$ (eq:kl)`
            found.insert(0, token.meta["label"].strip())
        if not found:
            continue
        line, column = token.meta.get("position", (0, 0))
        line += first_line
        if len(found) > 1:
            message = f"one label per display equation: this one has {', '.join(found)} (split it in two)"
            errors.append(Diagnostic(source, line, column, "error", message))
        label = found[0]
        if not label or any(c.isspace() or c in '"<>&' for c in label):
            errors.append(Diagnostic(source, line, column, "error", f"label {label!r}: use letters, digits, ':', '-'"))
            continue
        equations += 1
        token.content = _TEX_LABEL.sub("", token.content)  # KaTeX has no \label: the number is ours
        token.meta.update(label=label, number=f"{prefix}{equations}")
        add(Label(label, "equation", f"{prefix}{equations}", ""), line, column)
    return labels
