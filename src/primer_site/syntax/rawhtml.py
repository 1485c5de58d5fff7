"""The URLs in an author's raw HTML (`<img src>`, `<source srcset>`, `<a href>`…), found with their lines and
rewritten in place: the rest of the HTML is kept byte for byte.

Tags and attributes are read by the HTML standard's tokenizer rules for start tags ("13.2.5 Tokenization":
attribute names, unquoted, single- and double-quoted values, character references in values); comments,
`<script>` and `<style>` are skipped, as a browser does not read URLs there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

# The URL-valued attributes of the elements an author puts files in (HTML standard, "Attributes" index).
URL_ATTRIBUTES = {
    "a": ("href",),
    "area": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "iframe": ("src",),
    "object": ("data",),
    "input": ("src",),
}
# The tokenizer's attribute states (§13.2.5.32-38): a name is anything but whitespace, "/", ">" (and "=" after its
# first character); a value is quoted, or runs to whitespace or ">". Quotes and "<" in a name or an unquoted value
# are parse errors the browser reads on with, as it does a missing space between attributes: `alt=""A b""` is
# alt="" and the attributes `a` and `b""`, and the `src` beside it is still the image's.
_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s>]++)"
_NAME = r"[^\s/>][^\s/>=]*+"
_TAG = re.compile(
    r"<(" + "|".join(URL_ATTRIBUTES) + r")(?=[\s/>])((?>[\s/]*+" + _NAME + r"(?>\s*=\s*" + _VALUE + r")?)*+)([\s/]*>)",
    re.IGNORECASE,
)
_ATTRIBUTE = re.compile(r"([\s/]*+)(" + _NAME + r")(?:(\s*=\s*)(" + _VALUE + r"))?")
_SKIPPED = re.compile(r"<!--.*?(?:-->|$)|<(script|style)\b.*?(?:</\1\s*>|$)", re.DOTALL | re.IGNORECASE)
# An <img>'s attributes that the published size and loading attributes must not repeat or contradict.
IMAGE_GIVEN = ("width", "height", "loading", "decoding", "srcset", "sizes")

# (URL as written, its line, whether it is an <img src>, the <img>'s given attributes) → (new URL, text to add
# at the end of the tag)
OnUrl = Callable[[str, int, bool, tuple[tuple[str, str], ...]], tuple[str, str]]


def rewrite_urls(text: str, first_line: int, on_url: OnUrl, on_missing_alt: Callable[[int, str], None]) -> str:
    """`text` (raw HTML whose first line is line `first_line` of its file) with each URL attribute's value as
    `on_url` gives it back; `on_missing_alt(line, src)` for an `<img>` without an alt attribute."""
    if "<" not in text:
        return text
    skipped = [(m.start(), m.end()) for m in _SKIPPED.finditer(text)] if "<!--" in text or "<s" in text.lower() else []
    pieces: list[str] = []
    done = 0
    for tag in _TAG.finditer(text):
        if any(start <= tag.start() < end for start, end in skipped):
            continue
        name = tag.group(1).lower()
        line = first_line + text.count("\n", 0, tag.start())
        pieces.append(text[done : tag.start(2)])
        attributes, addition = _rewrite_attributes(name, tag.group(2), line, on_url, on_missing_alt)
        pieces.append(attributes + addition + tag.group(3))
        done = tag.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _rewrite_attributes(
    tag: str, text: str, line: int, on_url: OnUrl, on_missing_alt: Callable[[int, str], None]
) -> tuple[str, str]:
    found = list(_ATTRIBUTE.finditer(text))
    values = {m.group(2).lower(): html.unescape(_unquote(m.group(4))) for m in found if m.group(4) is not None}
    names = {m.group(2).lower() for m in found}
    given = tuple((name, values.get(name, "")) for name in IMAGE_GIVEN if name in names) if tag == "img" else ()
    if tag == "img" and "alt" not in names:
        on_missing_alt(line, values.get("src", ""))
    addition = ""
    pieces: list[str] = []
    for match in found:
        name = match.group(2).lower()
        at_line = line + text.count("\n", 0, match.start(2))
        if name not in URL_ATTRIBUTES[tag] or match.group(4) is None:
            pieces.append(match.group(0))
            continue
        value = values[name]
        if name == "srcset":
            new = _rewrite_srcset(value, at_line, on_url)
        else:
            new, extra = on_url(value, at_line, tag == "img" and name == "src", given)
            addition += extra
        if new == value:
            pieces.append(match.group(0))
        else:
            pieces.append(f'{match.group(1)}{match.group(2)}{match.group(3)}"{html.escape(new)}"')
    return "".join(pieces), addition


def _rewrite_srcset(value: str, line: int, on_url: OnUrl) -> str:
    """A srcset's candidates ("a.png 1x, b.png 2x"), each URL through `on_url`, descriptors kept."""
    candidates = []
    for candidate in value.split(","):
        parts = candidate.strip().split(None, 1)
        if not parts:
            continue
        url, _ = on_url(parts[0], line, False, ())
        candidates.append(" ".join([url, *parts[1:]]))
    return ", ".join(candidates)


def _unquote(value: str) -> str:
    return value[1:-1] if value[:1] in "\"'" and len(value) >= 2 and value[-1] == value[0] else value
