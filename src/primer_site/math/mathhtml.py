"""The math elements of an HTML page or fragment, found as static/js/math.js finds them in the browser.

math.js typesets every element matching the selector `.math` (a `class` whose whitespace-separated tokens
include `math`) that holds no `.katex`/`.katex-error` element: katex.render(element.textContent, element,
{displayMode: classList.contains("display"), macros: those of element.closest("[data-macros]")}). This module
finds those same elements in the page's text, following the WHATWG HTML tokenizer (§13.2.5: tags, attributes,
character references, comments, raw-text and RCDATA elements, <template> contents) so that a math element
written in any quoting, attribute order or letter case is found, and one inside a comment, a script or an
attribute value is not.

Where the page's tree would depend on the tree builder's repairs (§13.2.6: a <p> inside a <span>, tags that
do not nest, an element with no end tag), the element is not guessed at: it comes back as a `MathProblem`
saying how to write it so that its text is certain. Markdown's own math (`<span class="math inline">TeX</span>`)
is always certain. The tokenizer's rules themselves: htmltokenizer.py.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from primer_site.lazyregex import lazy_compile
from primer_site.math.htmltokenizer import (
    ATTRIBUTE,
    FOREIGN,
    RAW_TEXT,
    RCDATA,
    TOKEN,
    VOID,
    class_and_macros,
    class_tokens,
    quirks_mode,
    raw_text_end,
    skip_comment,
    text_content,
)

# How the Markdown stage writes math (markdown_parser.py, inline.render_title, figures.caption_html)
MARKDOWN_MATH = 'class="math '
# A page may hold math elements only if some class attribute names "math": cheap to rule out, exact or not
_MATH_CLASS_HINT = lazy_compile(r"(?i)class[\t\n\f\r ]*=[\t\n\f\r ]*[\"']?[^\"'>]*?math")

# The Markdown stage's own math elements, read at once: their text holds no "<", so their end is certain
_MARKDOWN_ELEMENT = lazy_compile(r'<(span|div) class="math (inline|display)">([^<]*)</\1>')

# What find_math reads in Python: the tags that change how the rest is read (raw text, templates, foreign
# content), and those that may be or hold math (a class or any value with "math" in it, data-macros, the
# holders' own tags). The rest (comments, text, other tags) is skipped by one regex, which tokenizes it by the
# same rules as TOKEN: a page of 600 tags costs a dozen Python steps, not 600.
_W = "\t\n\f\r "
_NO_MATH = r"(?:[^{stop}mM&]++|[mM](?![aA][tT][hH]))*+"  # no "math", and no reference that could spell it
_DOUBLE, _SINGLE, _BARE = (_NO_MATH.format(stop=stop) for stop in ('"', "'", _W + ">"))
_QUIET_ATTRIBUTE = (
    rf"(?>[{_W}/]*+(?![dD][aA][tT][aA]-[mM][aA][cC][rR][oO][sS][{_W}/=>])[^{_W}/>][^{_W}/=>]*+"
    rf"(?>[{_W}]*+=[{_W}]*+(?>\"{_DOUBLE}\"|'{_SINGLE}'|(?![\"']){_BARE}(?=[{_W}>]|\Z))|(?![{_W}]*=)))"
)
# the common case first, twice as fast to skip: <a href="…" class="…">, as templates and Markdown write tags
_PLAIN_TAG = r'[a-z][a-z0-9]*+(?> (?!data-macros=)[a-z-]++="(?:[^"<>&mM]++|[mM](?![aA][tT][hH]))*+")*+>'
_READ_ALWAYS = ("script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title", "plaintext")
_SKIPPERS: dict[tuple[str, ...], re.Pattern] = {}


def _skipper(holders: tuple[str, ...]) -> re.Pattern:
    """The regex that skips what find_math need not read, with `holders` the names of the open data-macros
    elements (their start and end tags count)."""
    found = _SKIPPERS.get(holders)
    if found is None:
        read = "|".join(sorted({*_READ_ALWAYS, *FOREIGN, "template", *holders}))
        closing = "|".join(sorted({*FOREIGN, "template", *holders}))
        found = _SKIPPERS[holders] = re.compile(
            rf"(?:[^<]++|<(?!(?i:{read})[{_W}/>])(?:{_PLAIN_TAG}|[A-Za-z][^{_W}/>]*+{_QUIET_ATTRIBUTE}*+[{_W}/]*+>)"
            rf"|</(?!(?i:{closing})[{_W}/>])(?:[a-z][a-z0-9]*+>|[A-Za-z][^{_W}/>]*+{ATTRIBUTE}*+[{_W}/]*+>)"
            rf"|<!--(?:-?>|.*?(?:--!?>|\Z))|<!(?!--|\[CDATA\[)[^>]*+(?:>|\Z)|<\?[^>]*+(?:>|\Z)"
            rf"|</(?![A-Za-z])[^>]*+(?:>|\Z)|<(?![A-Za-z!?/]))*+",
            re.DOTALL,
        )
    return found


# Elements the tree builder nests as written when their end tags are written (no implied ends, no closing of
# others, no special insertion mode): inside a math element these keep its text certain.
_PHRASING = frozenset(
    [
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
    ]
)
_HOLDS_MATH = _PHRASING | {"div", "p"}  # what a math element may be (a <td>, <li>, <svg>… depends on context)


class MathElement(NamedTuple):
    """One math element math.js typesets: its start tag at page[tag:start], its content at page[start:end] (up to
    its end tag), its TeX (the content's text, as element.textContent gives it), display or inline, and the
    data-macros text of the nearest element around it (or itself) that has one; None: no such element.

    A named tuple: a page has hundreds."""

    tag: int
    start: int
    end: int
    close: int  # the end of its end tag
    tex: str
    display: bool
    macros: str | None


class MathProblem(NamedTuple):
    """A math element whose text the browser's tree would decide (or that math.js would typeset invisibly):
    its start tag at page[tag:start], and why, with what to write instead."""

    tag: int
    start: int
    message: str


class PageMath(NamedTuple):
    """What math.js finds in a page: its math elements in page order, the problems, and the data-macros of a
    <script> (an older theme's way of giving the page's macros), or None."""

    elements: list[MathElement]
    problems: list[MathProblem]
    script_macros: str | None


def may_hold_math(text: str) -> bool:
    """Whether `text` (a page or a fragment) may hold a math element: False means it holds none."""
    return MARKDOWN_MATH in text or _MATH_CLASS_HINT.search(text) is not None


def shows_math(text: str) -> bool:
    """Whether `text` holds a math element math.js would typeset (or one it cannot say for sure)."""
    if MARKDOWN_MATH in text:
        return True  # at worst a page loads KaTeX it does not need
    if _MATH_CLASS_HINT.search(text) is None:
        return False
    found = find_math(text)
    return bool(found.elements or found.problems)


def find_math(page: str) -> PageMath:
    """Every math element of `page` math.js would typeset, in page order, each with its TeX, display mode and
    macros (see MathElement), and every one that cannot be typeset faithfully (MathProblem). Offsets are str
    indices into `page`. Rules: static/js/math.js; the WHATWG HTML standard, §13.2 (parsing)."""
    elements: list[MathElement] = []
    problems: list[MathProblem] = []
    script_macros = None
    if not may_hold_math(page):
        return PageMath(elements, problems, script_macros)
    quirks = quirks_mode(page)
    holders: list[list] = []  # [name, depth, macros] of open elements with data-macros, outermost first
    hidden: list[
        list
    ] = []  # [name, depth, holders open before it] of open <template> (not in the document), <svg>, <math>
    pos = 0
    skip, skipping = _skipper(()), ()
    while True:
        pos = skip.match(page, pos).end()
        if not hidden and (markdown := _MARKDOWN_ELEMENT.match(page, pos)) is not None:
            tex = markdown.group(3)
            tex = text_content(tex) if "&" in tex or "\r" in tex or "\0" in tex else tex
            holder = holders[-1][2] if holders else None
            display = markdown.group(2) == "display"
            elements.append(MathElement(pos, markdown.start(3), markdown.end(3), markdown.end(), tex, display, holder))
            pos = markdown.end()
            continue
        token = TOKEN.match(page, pos)
        if token is None:
            break
        pos = token.end()
        name = token.group("start")
        if name is None:
            name = token.group("end")
            if name is not None:
                _close(name.lower(), holders, hidden)
            elif token.group("eof") is not None:
                break  # a tag with no ">": the rest of the page is inside it, and no part of the document
            else:
                pos = skip_comment(page, token, bool(hidden))
            continue
        name = name.lower()
        attributes = token.group("attributes")
        classes = macros = None
        if attributes:
            lowered = attributes.lower()
            if "class" in lowered or "data-macros" in lowered:
                classes, macros = class_and_macros(attributes)
        for open_ in (*holders, *hidden):
            if open_[0] == name:
                open_[1] += 1
        foreign = any(open_[0] in FOREIGN for open_ in hidden)
        if classes is not None and (says := _class_says_math(classes, quirks)):
            at = token.start()
            if says is not True:
                problems.append(MathProblem(at, pos, says))
            elif hidden:
                if hidden[-1][0] != "template":  # a template's content is not in the document: left as written
                    problems.append(MathProblem(at, pos, f"a math element inside <{hidden[-1][0]}>: {_MOVE_OUT}"))
            else:
                holder = macros if macros is not None else (holders[-1][2] if holders else None)
                found = _math_element(page, token, name, classes, holder, quirks)
                if isinstance(found, MathElement):
                    elements.append(found)
                    pos = found.end  # its end tag is read next (nothing inside it holds math or macros)
                    continue
                if found is not None:
                    problems.append(found)
        if name == "script" and macros is not None:
            script_macros = macros
        if not foreign and (name in RAW_TEXT or name in RCDATA or name == "plaintext"):
            pos = raw_text_end(page, name, pos)
            continue
        if name in VOID or (foreign and page[pos - 2] == "/"):
            continue
        if macros is not None:
            holders.append([name, 1, macros])
        if skipping != (names := tuple(h[0] for h in holders if h[0] not in ("body", "html"))):
            skip, skipping = _skipper(names), names
        if name == "template" or name in FOREIGN:
            hidden.append([name, 1, len(holders)])  # what opens inside it ends with it
    return PageMath(elements, problems, script_macros)


_MOVE_OUT = 'math.js would put KaTeX\'s HTML where it does not show: write it as <span class="math">TeX</span> outside'
_PLAIN = 'write its TeX as plain text (`<` as &lt;, `&` as &amp;) in <span class="math">…</span> or <div class="math display">…</div>'


def _math_element(
    page: str, token: re.Match, name: str, classes: str, macros: str | None, quirks: bool | None
) -> MathElement | MathProblem | None:
    """The math element whose start tag is `token`, read up to its end tag; a MathProblem if its text is not
    certain; None if it holds KaTeX's HTML already (math.js leaves it)."""
    at, start = token.start(), token.end()
    if name not in _HOLDS_MATH:
        why = "holds no text" if name in VOID else "is read by rules of its own"
        return MathProblem(at, start, f"a <{name}> math element {why}: {_PLAIN}")
    open_: list[str] = []
    text: list[str] = []
    pos = start
    while True:
        token = TOKEN.search(page, pos)
        if token is None:
            return MathProblem(at, start, f"this <{name}> math element has no end tag </{name}>: {_PLAIN}")
        text.append(page[pos : token.start()])
        pos = token.end()
        inner = token.group("start")
        if inner is not None:
            inner = inner.lower()
            attributes = token.group("attributes")
            inner_classes = class_and_macros(attributes)[0] if "=" in attributes else None
            if inner_classes:
                if _has_class(inner_classes, ("katex", "katex-error"), quirks):
                    return None  # typeset already (KaTeX's HTML, pasted as raw HTML): math.js leaves it
                if _class_says_math(inner_classes, quirks):
                    return MathProblem(at, start, f"a math element inside another: {_PLAIN}")
            if inner == "br" or inner == "wbr":
                continue
            if inner not in _PHRASING:
                return MathProblem(
                    at, start, f"this math element holds a <{inner}>, which the browser may move: {_PLAIN}"
                )
            open_.append(inner)
            continue
        closing = token.group("end")
        if closing is not None:
            closing = closing.lower()
            if open_ and open_[-1] == closing:
                open_.pop()
                continue
            if not open_ and closing == name:
                tex = text_content("".join(text))
                display = "display" in class_tokens(classes)  # DOMTokenList.contains: case-sensitive
                return MathElement(at, start, token.start(), token.end(), tex, display, macros)
            return MathProblem(at, start, f"this math element's tags do not nest (</{closing}>): {_PLAIN}")
        if token.group("eof") is not None:
            return MathProblem(at, start, f"this <{name}> math element has no end tag </{name}>: {_PLAIN}")
        if token.group(0) != "</>":
            pos = skip_comment(page, token)  # a comment is no part of textContent


def _close(name: str, holders: list[list], hidden: list[list]) -> None:
    """Count an end tag against the open holders and hidden elements of its name; drop those it closes."""
    if name in ("body", "html"):
        return  # what follows </body> still goes into the body (§13.2.6.4.19): its macros still hold
    for group in (holders, hidden):
        if any(open_[0] == name for open_ in group):
            for open_ in group:
                if open_[0] == name:
                    open_[1] -= 1
            if group is hidden and (closed := [open_[2] for open_ in hidden if open_[1] <= 0]):
                # </template> (or </svg>, </math>) ends every element opened inside it (§13.2.6.4.4), holders too
                del holders[min(closed) :]
            group[:] = [open_ for open_ in group if open_[1] > 0]


def _class_says_math(classes: str, quirks: bool | None) -> bool | str:
    """True if the class list holds `math` (as `.math` matches it); a message if that depends on how the
    browser's mode compares letter case; False otherwise."""
    tokens = class_tokens(classes)
    if "math" in tokens:
        return True
    near = next((t for t in tokens if t.lower() == "math"), None)
    if near is None:
        return False
    if quirks is None:  # a doctype whose mode is not checked here
        return f'class "{near}" is math only in quirks mode: write class="math"'
    return quirks


def _has_class(classes: str, names: tuple[str, ...], quirks: bool | None) -> bool:
    tokens = class_tokens(classes)
    return any(n in tokens for n in names) or (bool(quirks) and any(t.lower() in names for t in tokens))
