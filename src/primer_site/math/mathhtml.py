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
is always certain.
"""

from __future__ import annotations

import html
import re
from html.entities import html5
from typing import NamedTuple

# How the Markdown stage writes math (markdown_parser.py, markdown.render_title, figures.caption_html)
MARKDOWN_MATH = 'class="math '
# A page may hold math elements only if some class attribute names "math": cheap to rule out, exact or not
_MATH_CLASS_HINT = re.compile(r"(?i)class[\t\n\f\r ]*=[\t\n\f\r ]*[\"']?[^\"'>]*?math")

_SPACE = "\t\n\f\r "
# The Markdown stage's own math elements, read at once: their text holds no "<", so their end is certain
_MARKDOWN_ELEMENT = re.compile(r'<(span|div) class="math (inline|display)">([^<]*)</\1>')
# One attribute: the tokenizer's attribute-name and attribute-value states (atomic: no backtracking)
_ATTRIBUTE = r"(?>[\t\n\f\r /]*(?>[^\t\n\f\r />][^\t\n\f\r /=>]*)(?>[\t\n\f\r ]*=[\t\n\f\r ]*(?>\"[^\"]*\"|'[^']*'|[^\t\n\f\r >]*))?)"
_TOKEN = re.compile(
    r"<(?:(?P<start>[A-Za-z][^\t\n\f\r />]*)(?P<attributes>" + _ATTRIBUTE + r"*)[\t\n\f\r /]*>"
    r"|/(?P<end>[A-Za-z][^\t\n\f\r />]*)" + _ATTRIBUTE + r"*[\t\n\f\r /]*>"
    r"|(?P<comment>!--)|(?P<bogus>[!?]|/[^A-Za-z>])|/>|(?P<eof>/?[A-Za-z]))"
)
_ONE_ATTRIBUTE = re.compile(
    r"[\t\n\f\r /]*([^\t\n\f\r />][^\t\n\f\r /=>]*)(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:\"([^\"]*)\"|'([^']*)'|([^\t\n\f\r >]*)))?"
)
_COMMENT_END = re.compile(r"--!?>")

# What find_math reads in Python: the tags that change how the rest is read (raw text, templates, foreign
# content), and those that may be or hold math (a class or any value with "math" in it, data-macros, the
# holders' own tags). The rest (comments, text, other tags) is skipped by one regex, which tokenizes it by the
# same rules as _TOKEN: a page of 600 tags costs a dozen Python steps, not 600.
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
        read = "|".join(sorted({*_READ_ALWAYS, *_FOREIGN, "template", *holders}))
        closing = "|".join(sorted({*_FOREIGN, "template", *holders}))
        found = _SKIPPERS[holders] = re.compile(
            rf"(?:[^<]++|<(?!(?i:{read})[{_W}/>])(?:{_PLAIN_TAG}|[A-Za-z][^{_W}/>]*+{_QUIET_ATTRIBUTE}*+[{_W}/]*+>)"
            rf"|</(?!(?i:{closing})[{_W}/>])(?:[a-z][a-z0-9]*+>|[A-Za-z][^{_W}/>]*+{_ATTRIBUTE}*+[{_W}/]*+>)"
            rf"|<!--(?:-?>|.*?(?:--!?>|\Z))|<!(?!--|\[CDATA\[)[^>]*+(?:>|\Z)|<\?[^>]*+(?:>|\Z)"
            rf"|</(?![A-Za-z])[^>]*+(?:>|\Z)|<(?![A-Za-z!?/]))*+",
            re.DOTALL,
        )
    return found


_CHARACTER_REFERENCE = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|([A-Za-z][A-Za-z0-9]*)(;?))")

# Elements whose text is not markup (§13.2.6.4.7, with scripting on, as in a browser running math.js)
_RAW_TEXT = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript"})
_RCDATA = frozenset({"textarea", "title"})
_VOID = frozenset(
    [
        "area",
        "base",
        "basefont",
        "bgsound",
        "br",
        "col",
        "embed",
        "frame",
        "hr",
        "image",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
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
_FOREIGN = frozenset({"svg", "math"})


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
    quirks = _quirks(page)
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
            tex = _text(tex) if "&" in tex or "\r" in tex or "\0" in tex else tex
            holder = holders[-1][2] if holders else None
            display = markdown.group(2) == "display"
            elements.append(MathElement(pos, markdown.start(3), markdown.end(3), markdown.end(), tex, display, holder))
            pos = markdown.end()
            continue
        token = _TOKEN.match(page, pos)
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
                pos = _skip_comment(page, token, bool(hidden))
            continue
        name = name.lower()
        attributes = token.group("attributes")
        classes = macros = None
        if attributes:
            lowered = attributes.lower()
            if "class" in lowered or "data-macros" in lowered:
                classes, macros = _math_attributes(attributes)
        for open_ in (*holders, *hidden):
            if open_[0] == name:
                open_[1] += 1
        foreign = any(open_[0] in _FOREIGN for open_ in hidden)
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
        if not foreign and (name in _RAW_TEXT or name in _RCDATA or name == "plaintext"):
            pos = _raw_text_end(page, name, pos)
            continue
        if name in _VOID or (foreign and page[pos - 2] == "/"):
            continue
        if macros is not None:
            holders.append([name, 1, macros])
        if skipping != (names := tuple(h[0] for h in holders if h[0] not in ("body", "html"))):
            skip, skipping = _skipper(names), names
        if name == "template" or name in _FOREIGN:
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
        why = "holds no text" if name in _VOID else "is read by rules of its own"
        return MathProblem(at, start, f"a <{name}> math element {why}: {_PLAIN}")
    open_: list[str] = []
    text: list[str] = []
    pos = start
    while True:
        token = _TOKEN.search(page, pos)
        if token is None:
            return MathProblem(at, start, f"this <{name}> math element has no end tag </{name}>: {_PLAIN}")
        text.append(page[pos : token.start()])
        pos = token.end()
        inner = token.group("start")
        if inner is not None:
            inner = inner.lower()
            attributes = token.group("attributes")
            inner_classes = _math_attributes(attributes)[0] if "=" in attributes else None
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
                tex = _text("".join(text))
                display = "display" in _tokens(classes)  # DOMTokenList.contains: case-sensitive
                return MathElement(at, start, token.start(), token.end(), tex, display, macros)
            return MathProblem(at, start, f"this math element's tags do not nest (</{closing}>): {_PLAIN}")
        if token.group("eof") is not None:
            return MathProblem(at, start, f"this <{name}> math element has no end tag </{name}>: {_PLAIN}")
        if token.group(0) != "</>":
            pos = _skip_comment(page, token)  # a comment is no part of textContent


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


def _skip_comment(page: str, token: re.Match, foreign: bool = False) -> int:
    """Where the comment (or bogus comment: `<!…>`, `<?…>`, `</ …>`) opened by `token` ends."""
    at = token.start()
    if token.group("comment") is not None:
        if page.startswith(">", at + 4):
            return at + 5  # <!--> (§13.2.5.43, abrupt closing)
        if page.startswith("->", at + 4):
            return at + 6
        end = _COMMENT_END.search(page, at + 4)
        return len(page) if end is None else end.end()
    if token.group(0) == "</>":
        return token.end()
    if foreign and page.startswith("<![CDATA[", at):  # elsewhere a bogus comment, up to ">"
        end = page.find("]]>", at)
        return len(page) if end == -1 else end + 3
    end = page.find(">", at + 2)
    return len(page) if end == -1 else end + 1


def _raw_text_end(page: str, name: str, pos: int) -> int:
    """Where the text of the raw-text or RCDATA element `name` whose start tag ends at `pos` ends (its end tag)."""
    if name == "plaintext":
        return len(page)
    end = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE).search(page, pos)
    return len(page) if end is None else end.start()


def _math_attributes(attributes: str) -> tuple[str | None, str | None]:
    """The class and data-macros values of a start tag's attributes (the first of each name: §13.2.5.33)."""
    classes = macros = None
    for match in _ONE_ATTRIBUTE.finditer(attributes):
        name = match.group(1).lower()
        if (name == "class" and classes is None) or (name == "data-macros" and macros is None):
            value = next((v for v in match.groups()[1:] if v is not None), "")
            value = _attribute_value(value)
            if name == "class":
                classes = value
            else:
                macros = value
    return classes, macros


def _attribute_value(value: str) -> str:
    """An attribute's value with its character references decoded, as in an attribute: a named one without its
    `;` followed by `=` or a letter or digit is left as written (§13.2.5.73)."""
    if "&" not in value:
        return value

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name is None or match.group(2):
            return html.unescape(match.group(0))
        known = next((k for k in range(len(name), 1, -1) if name[:k] in html5), 0)
        if known != len(name) or value.startswith("=", match.end()):
            return match.group(0)
        return html5[name]

    return _CHARACTER_REFERENCE.sub(one, value)


def _text(content: str) -> str:
    """The text of markup-free `content` as the DOM holds it: references decoded, newlines normalised, NULs
    dropped (§13.2.3.5, §13.2.6.4.7)."""
    if "\r" in content:
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in content:
        content = content.replace("\0", "")
    return html.unescape(content) if "&" in content else content


def _class_says_math(classes: str, quirks: bool | None) -> bool | str:
    """True if the class list holds `math` (as `.math` matches it); a message if that depends on how the
    browser's mode compares letter case; False otherwise."""
    tokens = _tokens(classes)
    if "math" in tokens:
        return True
    near = next((t for t in tokens if t.lower() == "math"), None)
    if near is None:
        return False
    if quirks is None:  # a doctype whose mode is not checked here
        return f'class "{near}" is math only in quirks mode: write class="math"'
    return quirks


def _tokens(classes: str) -> list[str]:
    """A class attribute's tokens: split at ASCII whitespace only (DOMTokenList)."""
    return classes.split() if classes.isascii() else [t for t in re.split(f"[{_SPACE}]+", classes) if t]


def _has_class(classes: str, names: tuple[str, ...], quirks: bool | None) -> bool:
    tokens = _tokens(classes)
    return any(n in tokens for n in names) or (bool(quirks) and any(t.lower() in names for t in tokens))


_DOCTYPE = re.compile(
    r"(?:\ufeff)?(?:[\t\n\f\r ]|<!--.*?-->)*<!doctype[\t\n\f\r ]+html[\t\n\f\r ]*"
    r"(?:system[\t\n\f\r ]*[\"']about:legacy-compat[\"'][\t\n\f\r ]*)?>",
    re.IGNORECASE | re.DOTALL,
)


def _quirks(page: str) -> bool | None:
    """Whether the page is in quirks mode (class names match whatever their case): False with `<!doctype
    html>`, True with no doctype, None with another doctype (§13.2.6.4.1: not worked out here)."""
    if _DOCTYPE.match(page):
        return False
    if re.match(r"(?:\ufeff)?(?:[\t\n\f\r ]|<!--.*?-->)*<!doctype", page, re.IGNORECASE | re.DOTALL):
        return None
    return True
