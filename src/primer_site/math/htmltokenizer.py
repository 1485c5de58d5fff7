"""As much of the WHATWG HTML tokenizer as finding math elements needs (mathhtml.py), by the standard's §13.2:
tags and their attributes (§13.2.5), character references, comments and bogus comments, raw-text and RCDATA
elements, text as the DOM holds it, class tokens as DOMTokenList splits them, and quirks mode from the doctype.
Offsets are str indices into the page; nothing here raises."""

from __future__ import annotations

import html
import re
from html.entities import html5

from primer_site.lazyregex import lazy_compile

_SPACE = "\t\n\f\r "

# One attribute: the tokenizer's attribute-name and attribute-value states (atomic: no backtracking)
ATTRIBUTE = r"(?>[\t\n\f\r /]*(?>[^\t\n\f\r />][^\t\n\f\r /=>]*)(?>[\t\n\f\r ]*=[\t\n\f\r ]*(?>\"[^\"]*\"|'[^']*'|[^\t\n\f\r >]*))?)"

TOKEN = re.compile(
    r"<(?:(?P<start>[A-Za-z][^\t\n\f\r />]*)(?P<attributes>" + ATTRIBUTE + r"*)[\t\n\f\r /]*>"
    r"|/(?P<end>[A-Za-z][^\t\n\f\r />]*)" + ATTRIBUTE + r"*[\t\n\f\r /]*>"
    r"|(?P<comment>!--)|(?P<bogus>[!?]|/[^A-Za-z>])|/>|(?P<eof>/?[A-Za-z]))"
)

_ONE_ATTRIBUTE = re.compile(
    r"[\t\n\f\r /]*([^\t\n\f\r />][^\t\n\f\r /=>]*)(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:\"([^\"]*)\"|'([^']*)'|([^\t\n\f\r >]*)))?"
)

_COMMENT_END = lazy_compile(r"--!?>")

_CHARACTER_REFERENCE = lazy_compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|([A-Za-z][A-Za-z0-9]*)(;?))")

# Elements whose text is not markup (§13.2.6.4.7, with scripting on, as in a browser running math.js)
RAW_TEXT = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript"})

RCDATA = frozenset({"textarea", "title"})

VOID = frozenset(
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

FOREIGN = frozenset({"svg", "math"})


def skip_comment(page: str, token: re.Match, foreign: bool = False) -> int:
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


def raw_text_end(page: str, name: str, pos: int) -> int:
    """Where the text of the raw-text or RCDATA element `name` whose start tag ends at `pos` ends (its end tag)."""
    if name == "plaintext":
        return len(page)
    end = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE).search(page, pos)
    return len(page) if end is None else end.start()


def class_and_macros(attributes: str) -> tuple[str | None, str | None]:
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


def attribute_values(attributes: str) -> list[tuple[str, str]]:
    """A start tag's attributes (their text, as TOKEN's `attributes` group holds it) as (lowercased name, value
    with its references decoded; "" when it has none), in order, duplicates kept."""
    found = []
    for match in _ONE_ATTRIBUTE.finditer(attributes):
        value = next((v for v in match.groups()[1:] if v is not None), "")
        found.append((match.group(1).lower(), _attribute_value(value)))
    return found


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


def text_content(content: str) -> str:
    """The text of markup-free `content` as the DOM holds it: references decoded, newlines normalised, NULs
    dropped (§13.2.3.5, §13.2.6.4.7)."""
    if "\r" in content:
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in content:
        content = content.replace("\0", "")
    return html.unescape(content) if "&" in content else content


def class_tokens(classes: str) -> list[str]:
    """A class attribute's tokens: split at ASCII whitespace only (DOMTokenList)."""
    return classes.split() if classes.isascii() else [t for t in re.split(f"[{_SPACE}]+", classes) if t]


_DOCTYPE = lazy_compile(
    r"(?:\ufeff)?(?:[\t\n\f\r ]|<!--.*?-->)*<!doctype[\t\n\f\r ]+html[\t\n\f\r ]*"
    r"(?:system[\t\n\f\r ]*[\"']about:legacy-compat[\"'][\t\n\f\r ]*)?>",
    re.IGNORECASE | re.DOTALL,
)


def quirks_mode(page: str) -> bool | None:
    """Whether the page is in quirks mode (class names match whatever their case): False with `<!doctype
    html>`, True with no doctype, None with another doctype (§13.2.6.4.1: not worked out here)."""
    if _DOCTYPE.match(page):
        return False
    if re.match(r"(?:\ufeff)?(?:[\t\n\f\r ]|<!--.*?-->)*<!doctype", page, re.IGNORECASE | re.DOTALL):
        return None
    return True
