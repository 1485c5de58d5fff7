"""What a body points at and what points into it: links to other sources, and the numbered labels
(equations, and headings when a series numbers its sections) that references `[](#eq:kl)` resolve to."""

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
from .mathsyntax import DISPLAY_MATH, math_tokens
from .model import Link

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
    """What a reference can point at: a labelled equation or a heading, with its number ("10.3", or "")."""

    id: str
    kind: str  # "equation" or "section"
    number: str
    html: str  # a heading's inline HTML; "" for an equation

    @property
    def reference_html(self) -> str:
        """The text of an empty link to it: `[](#eq:kl)` → "Eq. (10.3)", a heading → "10.2 Its title"."""
        if self.kind == "equation":
            return f"Eq. ({self.number})"
        return f"{self.number} {self.html}" if self.number else self.html


def collect_links(
    tokens: Sequence[Token], source: str, body_first_line: int, labels: dict[str, Label]
) -> tuple[list[SourceLink], list[Link]]:
    """Every link and image with its line; hrefs to other .md files are replaced with placeholders.

    So is a link in the page that is a reference: `[](#eq:kl)` (its text is made from the label), or any link
    to one of the labels: the assemble stage resolves and checks them as it does links to other posts.
    `source` is the body's site-relative path; lines are 1-based lines of that file.
    """
    sources: list[SourceLink] = []
    others: list[Link] = []
    base = posixpath.dirname(source)
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = body_first_line + (token.map[0] if token.map else 0)
        for index, child in enumerate(token.children):
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text" or child.type.startswith("math"):
                line += child.content.count("\n")
            elif child.type == "image":
                others.append(Link(str(child.attrGet("src") or ""), line))
            elif child.type == "link_open":
                href = str(child.attrGet("href") or "")
                parts = urlsplit(href)
                if href.startswith("#") and len(href) > 1:
                    empty = index + 1 < len(token.children) and token.children[index + 1].type == "link_close"
                    fragment = unquote(href[1:])
                    if empty or fragment in labels:
                        sources.append(SourceLink(source, fragment, line, href))
                        child.attrSet("href", f"\x00L{len(sources) - 1}\x00")
                        continue
                if _SCHEME.match(href) or href.startswith(("/", "#")) or not parts.path.endswith(".md"):
                    others.append(Link(href, line))
                    continue
                target = posixpath.normpath(posixpath.join(base, unquote(parts.path)))
                sources.append(SourceLink(target, unquote(parts.fragment), line, href))
                child.attrSet("href", f"\x00L{len(sources) - 1}\x00")
    return sources, others


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
    """Number labelled equations (and h2/h3 headings, if asked), in document order: the labels by id.

    "10.3" is the third labelled equation of chapter 10 ("3" without a chapter). A label used twice, two
    labels on one equation, or a label with spaces or markup is a located error appended to `errors`.
    """
    prefix = f"{chapter}." if chapter else ""
    labels: dict[str, Label] = {}
    equations = sections = subsections = 0

    def add(label: Label, line: int, column: int = 0) -> None:
        if label.id in labels:
            what = "an equation" if labels[label.id].kind == "equation" else "a heading"
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
