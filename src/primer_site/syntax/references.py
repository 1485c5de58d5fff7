"""What a body points at and what points into it: links to other sources, files beside it (images, data), and
the numbered labels (equations, figures, tables, and headings when a series numbers its sections) that
references `[](#eq:kl)` resolve to."""

from __future__ import annotations

import posixpath
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from primer_site.errors import Diagnostic
from primer_site.model import Link
from primer_site.syntax.figures import KIND_NAMES, SIZE_SLOT, TEX_REFERENCE, tex_reference_message
from primer_site.syntax.headings import UNNUMBERED, inline_html
from primer_site.syntax.mathsyntax import DISPLAY_MATH, math_tokens
from primer_site.syntax.rawhtml import rewrite_urls
from primer_site.syntax.theorems import OPEN as THEOREM_OPEN
from primer_site.syntax.theorems import solution_id

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_TEX_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")
# The environments KaTeX numbers itself, each row "(1)", "(2)"… by a CSS counter over the whole page (KaTeX's
# getAutoTag: amsmath's numbered environments); their starred forms number nothing.
KATEX_NUMBERED = ("equation", "align", "gather", "alignat")
# TeX as KaTeX's lexer reads it, enough to find environments, rows and tags: a comment, \begin{…}/\end{…}, a
# control sequence, a brace
_TEX = re.compile(r"%[^\n]*|\\(begin|end)\s*\{([^{}]*)\}|\\([A-Za-z@]+|.)|[{}]", re.DOTALL)


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
    kind: str  # "equation", "figure", "table", "section", or a theorem-like kind ("theorem", "exercise"…)
    number: str
    html: str  # a heading's inline HTML, a theorem-like block's title; "" for the others
    name: str = ""  # a theorem-like block's kind as its number reads: "Theorem" (theoremkinds)

    @property
    def reference_html(self) -> str:
        """The text of an empty link to it: `[](#eq:kl)` → "Eq. (10.3)", `[](#fig:attention)` → "Figure 4.2",
        a heading → "10.2 Its title"."""
        if self.kind == "equation":
            return f"Eq. ({self.number})"
        if self.name:
            return f"{self.name} {self.number}"
        if self.kind in KIND_NAMES:
            return f"{KIND_NAMES[self.kind]} {self.number}"
        return f"{self.number} {self.html}" if self.number else self.html


@dataclass(frozen=True)
class AssetRef:
    """A reference in the body to a file beside it (`![](attn.svg)`, `[data](results.csv)`, `<img src>`): where
    its URL goes, `\\x00A<n>\\x00` in the HTML, is filled in once the site's files are known (assets.py)."""

    # site-relative path of the file, e.g. "content/primer-ii/attn.svg"; or a root-absolute URL path as written,
    # "/posts/entropy/" (it starts with "/"), which is a file beside the posts if content/ holds one there
    target: str
    written: str  # the URL as the author wrote it
    line: int  # 1-based, in the source file
    suffix: str = ""  # "?query#fragment", kept after the published URL
    image: bool = False  # an <img src>: its width, height and loading go to `\\x00I<n>\\x00`
    given: tuple[tuple[str, str], ...] = ()  # attributes of a raw <img> the author set (width, height, loading…)


@dataclass
class KatexNumbered:
    """An environment KaTeX numbers, in one display formula: its rows, and where its \\begin and \\end are."""

    name: str  # "align"…
    depth: int  # brace depth at its \\begin: a \\\\ ends one of its rows only at this depth
    begin: tuple[int, int]  # span of `\\begin{align}` in the TeX
    end: tuple[int, int] | None = None
    rows: int = 1
    quiet_rows: set[int] = field(default_factory=set)  # rows with \\nonumber, \\notag or a \\tag of their own
    row_start: int = 0  # where its last row starts
    row_starts: list[int] = field(default_factory=list)  # where each row starts, in the TeX
    trailing_empty: bool = False  # it ends with `\\\\`: an empty last row, which KaTeX numbers too (as amsmath)

    @property
    def numbered_rows(self) -> int:
        return self.rows - len(self.quiet_rows)


def katex_numbering(tex: str) -> tuple[int, list[KatexNumbered]]:
    """How many `\\tag`s a display formula has, and the environments in it that KaTeX numbers, with their rows
    counted as KaTeX's parseArray counts them (a row ends at `\\\\` or `\\cr` of the environment itself, not of
    an `aligned` or `split` inside it; `equation` has one row)."""
    tags = 0
    found: list[KatexNumbered] = []
    open_environments: list[tuple[str, KatexNumbered | None]] = []
    depth = 0
    for match in _TEX.finditer(tex):
        text, word = match.group(0), match.group(3)
        if text in ("{", "}"):
            depth += 1 if text == "{" else -1
        elif match.group(1) == "begin":
            name = match.group(2).strip()
            numbered = (
                KatexNumbered(name, depth, match.span(), row_start=match.end(), row_starts=[match.end()])
                if name in KATEX_NUMBERED
                else None
            )
            found += [numbered] if numbered else []
            open_environments.append((name, numbered))
        elif match.group(1) == "end":
            if open_environments and open_environments[-1][0] == match.group(2).strip():
                numbered = open_environments.pop()[1]
                if numbered is not None:
                    numbered.end = match.span()
                    last_row = re.sub(r"%[^\n]*", "", tex[numbered.row_start : match.start()])
                    numbered.trailing_empty = numbered.rows > 1 and not last_row.strip()
        elif word in ("\\", "cr"):
            inner = open_environments[-1][1] if open_environments else None
            if inner is not None and inner.name != "equation" and depth == inner.depth:
                inner.rows += 1
                inner.row_start = match.end()
                inner.row_starts.append(match.end())
        elif word in ("tag", "nonumber", "notag"):
            tags += word == "tag"
            current = next((n for _, n in reversed(open_environments) if n is not None), None)
            if current is not None:
                current.quiet_rows.add(current.rows)
    return tags, found


def _starred(tex: str, environments: Sequence[KatexNumbered]) -> str:
    """`tex` with each of the environments in its starred form (`align*`), which KaTeX does not number."""
    spans = [(e.begin, f"\\begin{{{e.name}*}}") for e in environments]
    spans += [(e.end, f"\\end{{{e.name}*}}") for e in environments if e.end is not None]
    for (start, stop), replacement in sorted(spans, reverse=True):  # from the end: earlier offsets stay valid
        tex = tex[:start] + replacement + tex[stop:]
    return tex


def _one_label_a_row(tex: str) -> bool:
    """Whether `tex` is one environment KaTeX numbers, of several rows, with one `\\label` on each numbered row
    (a row with `\\nonumber` or `\\notag` has none) and no `\\tag`, each label a plain name."""
    tags, environments = katex_numbering(tex)
    multi = [e for e in environments if e.rows - e.trailing_empty > 1]
    if tags or len(multi) != 1 or len(environments) != 1 or multi[0].end is None:
        return False
    environment = multi[0]
    labels = list(_TEX_LABEL.finditer(tex))
    if any(not m.group(1).strip() or any(c.isspace() or c in '"<>&' for c in m.group(1).strip()) for m in labels):
        return False
    rows = [bisect_right(environment.row_starts, m.start()) - 1 for m in labels]
    inside = all(environment.begin[1] <= m.start() < environment.end[0] for m in labels)
    # quiet_rows counts from 1, as KaTeX's rows do
    wanted = [r for r in range(environment.rows - environment.trailing_empty) if r + 1 not in environment.quiet_rows]
    return inside and rows == wanted


ASSET_PLACEHOLDER = "\x00A{}\x00"


def root_absolute(url: str) -> bool:
    """Whether `url` is a path from the site's root, `/posts/entropy/` or `/vol/plot.png` (not `//host/x`): written
    relative to the site, it is published under the base URL's path, as `/primer/posts/entropy/`."""
    return url.startswith("/") and not url.startswith("//")


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
        if root_absolute(url):  # a path of the site: under its base path in every output, filled in with it
            self.assets.append(AssetRef(parts.path, url, line, url[len(parts.path) :], image, given))
            return ASSET_PLACEHOLDER.format(len(self.assets) - 1)
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
            # every same-page #fragment, a reference or not, is checked against the page's ids (as one into another
            # post is) when the site is assembled
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

    A page shows one numbering: a labelled equation's environment is made its starred form (KaTeX numbers
    `equation`, `align`, `gather` and `alignat` itself, by a page-wide CSS counter), and a label with `\\tag`,
    a label on a numbered environment of several rows, or an unlabelled display KaTeX numbers on a page with
    labelled equations is a located error. Without labels on the page KaTeX's numbers stay, and a `\\tag` on an
    unlabelled display is the author's own text, which no reference can name.
    """
    prefix = f"{chapter}." if chapter else ""
    labels: dict[str, Label] = {}
    equations = sections = subsections = 0
    counts = {"figure": 0, "table": 0}
    theorem_counts: dict[str, int] = {}  # by counter: "shared", "exercise", or a kind's own (theoremkinds)
    blocks: dict[str, Token] = {}  # theorem-like blocks by label
    targets: list[tuple[Token, int]] = []  # proofs and solutions that name a block: (opening, line)

    def add(label: Label, line: int, column: int = 0) -> None:
        if label.id in labels:
            kind = labels[label.id].kind
            what = {"equation": "an equation", "figure": "a figure", "table": "a table"}.get(kind) or (
                f"a {kind}" if labels[label.id].name else "a heading"
            )
            errors.append(Diagnostic(source, line, column, "error", f"label {label.id!r} is already {what}'s label"))
        else:
            labels[label.id] = label

    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id"):
            number = ""
            if token.meta.get(UNNUMBERED):
                pass  # `## Preface {.unnumbered}`: pandoc's, and the counters go on without it
            elif number_sections and token.tag == "h2":
                sections, subsections = sections + 1, 0
                number = f"{prefix}{sections}"
            elif number_sections and token.tag == "h3":
                subsections += 1
                number = f"{prefix}{sections}.{subsections}"
            if number:
                token.meta["number"] = number
            html = inline_html(md, tokens[index + 1].children or [], env, links=False)
            line = first_line + (token.map[0] if token.map else 0)
            add(Label(str(token.attrGet("id")), "section", number, html), line)
        elif token.type == "figure_open" and token.meta.get("label"):
            kind = token.meta["kind"]
            counts[kind] += 1
            token.meta["number"] = f"{prefix}{counts[kind]}"
            line = first_line + (token.map[0] if token.map else 0)
            add(Label(token.meta["label"], kind, token.meta["number"], ""), line)
        elif token.type == THEOREM_OPEN:
            meta, line = token.meta, first_line + (token.map[0] if token.map else 0)
            if meta.get("counter"):
                theorem_counts[meta["counter"]] = theorem_counts.get(meta["counter"], 0) + 1
                meta["number"] = f"{prefix}{theorem_counts[meta['counter']]}"
            if meta.get("label"):
                # the opening, its head, the title's inline token
                html = md.renderer.render(tokens[index + 2].children or [], md.options, env)
                add(Label(meta["label"], meta["kind"], meta["number"], html, meta["name"]), line)
                blocks[meta["label"]] = token
            if meta.get("target"):
                targets.append((token, line))
    for token, line in targets:
        meta = token.meta
        named = labels.get(meta["target"])
        wanted = "exercise" if meta["kind"] == "solution" else "theorem-like block"
        if named is None or not named.name or (meta["kind"] == "solution" and named.kind != "exercise"):
            how = "for" if meta["kind"] == "solution" else "of"
            message = f"{meta['kind']} {{{how}={meta['target']}}}: this page has no {wanted} labelled {meta['target']}"
            errors.append(Diagnostic(source, line, 0, "error", message))
            continue
        meta["target_name"] = named.reference_html
        if meta.get("gathered"):  # the exercise links to its solution at the end of the page
            blocks[meta["target"]].meta["solution"] = solution_id(meta["target"])
    katex_numbered: list[tuple[int, int, str]] = []  # unlabelled displays KaTeX numbers: (line, column, environment)
    for token in math_tokens(tokens):
        if "ref" in token.content and (reference := TEX_REFERENCE.search(token.content)):
            line, column = token.meta.get("position", (0, 0))
            errors.append(Diagnostic(source, first_line + line, column, "error", tex_reference_message(reference)))
        if token.type not in DISPLAY_MATH:
            continue
        found = _TEX_LABEL.findall(token.content)
        if token.meta.get("label") is not None:  # `$$ … $$ (eq:kl)`
            found.insert(0, token.meta["label"].strip())
        line, column = token.meta.get("position", (0, 0))
        line += first_line
        if not found:
            numbered = [e.name for e in katex_numbering(token.content)[1] if e.numbered_rows]
            katex_numbered += [(line, column, numbered[0])] if numbered else []
            continue
        if len(found) > 1 and token.meta.get("label") is None and _one_label_a_row(token.content):
            # `\label` on each row of an align (gather, alignat): each row numbered, each a label; KaTeX shows
            # our numbers as each row's \tag
            labelled = [m.group(1).strip() for m in _TEX_LABEL.finditer(token.content)]
            rows = [(row_label, f"{prefix}{equations + i}") for i, row_label in enumerate(labelled, start=1)]
            numbers = iter(rows)
            token.content = _TEX_LABEL.sub(lambda _, n=numbers: f"\\tag{{{next(n)[1]}}}", token.content)
            equations += len(rows)
            token.meta.update(label=rows[0][0], rows=tuple(rows))
            for row_label, row_number in rows:
                add(Label(row_label, "equation", row_number, ""), line, column)
            continue
        if len(found) > 1:
            message = f"one label per display equation: this one has {', '.join(found)} (split it in two)"
            errors.append(Diagnostic(source, line, column, "error", message))
        label = found[0]
        if not label or any(c.isspace() or c in '"<>&' for c in label):
            errors.append(Diagnostic(source, line, column, "error", f"label {label!r}: use letters, digits, ':', '-'"))
            continue
        equations += 1
        number = f"{prefix}{equations}"
        tex = _TEX_LABEL.sub("", token.content)  # KaTeX has no \label: the number is ours
        tags, environments = katex_numbering(tex)
        if tags:
            message = f"equation {label!r} has a label, which numbers it ({number}), and \\tag, which KaTeX shows as a second number: drop one"
            errors.append(Diagnostic(source, line, column, "error", message))
        for rows in (e for e in environments if e.rows - e.trailing_empty > 1 and len(found) == 1):
            message = (
                f"label {label!r} is on a {{{rows.name}}} of {rows.rows} rows, each of which KaTeX would number: write "
                f"\\begin{{{rows.name}*}} for one number, the label's, or split it into displays with a label each"
            )
            errors.append(Diagnostic(source, line, column, "error", message))
        # one number, ours: KaTeX's is not made (the same TeX in the browser, at build time and in feeds' MathML)
        token.content = _starred(tex, environments)
        token.meta.update(label=label, number=number)
        add(Label(label, "equation", number, ""), line, column)
    for line, column, name in katex_numbered if equations else ():
        message = (
            f"KaTeX numbers this {{{name}}} itself, (1), (2)… down the page, beside the labelled equations' "
            f"numbers ({prefix}1…): write \\begin{{{name}*}} for no number, or give it a label"
        )
        errors.append(Diagnostic(source, line, column, "error", message))
    return labels
