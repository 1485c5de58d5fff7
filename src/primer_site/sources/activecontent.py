"""Active content beside the posts: files a browser runs as script when served from the site's origin.

Under `raw_html: false` the author's HTML is shown as text, so a script cannot come in through a post; it must not
come in beside one either. A file under content/ is active when a browser that opens it from the site runs script:

- an HTML document (.html, .htm, .xhtml, .xht, .shtml): always;
- an SVG or XML document (.svg, .xml, .xsl, .xslt) that holds a `<script>`, an event-handler attribute (`onload=`),
  a `<foreignObject>` (HTML inside SVG), an embedded frame or object, a DTD entity (which can spell any of these
  so that no scan of the text sees them), an XML stylesheet processing instruction (XSLT makes HTML), a link whose
  URL is not http(s), mailto, a fragment or a relative path (`javascript:`, `data:text/html`), or an `<animate>`/
  `<set>` that changes a link (it can turn a harmless `href` into `javascript:`).

Such a file is refused (an error at its first active line), not sanitized: a sanitizer must track every browser's
idea of SVG, while the author who needs the file either drops the script (a figure needs none) or sets
`raw_html: true`. The list of SVG's script hooks is from the SVG 2 specification (§15 Scripting, "event attributes")
and OWASP's XSS filter evasion cheat sheet.
"""

from __future__ import annotations

import re
from html import unescape

from primer_site.lazyregex import lazy_compile

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".xht", ".shtml")
MARKUP_SUFFIXES = (".svg", ".xml", ".xsl", ".xslt")

# Matched on the text folded to lower case. Each alternative costs, from one starting place, at most the run of
# name, space or (bounded) tag characters after it, and those runs do not overlap: the scan is linear. Elements
# may carry a namespace prefix (<html:script xmlns:html="http://www.w3.org/1999/xhtml">).
_ACTIVE = lazy_compile(
    r"<(?:[\w.-]+:)?(?:script|foreignobject|iframe|embed|object|handler)\b|<!entity\b|<\?xml-stylesheet\b"
    r"|<(?:[\w.-]+:)?(?:animate|set)\b[^>]{0,400}?attributename\s*=\s*[\"']?(?:xlink:)?href"
    r"|[\s\"'/]on[a-z]+\s*="
)
_LINK_START = lazy_compile(r"(?<![\w:.-])(?:xlink:)?href\s*=\s*")
_SAFE_URL = lazy_compile(r"^(?:https?:|mailto:|#|/|\.|[^:/?#]+(?:[/?#]|$)|data:image/(?:png|gif|jpeg|webp)[;,])")
_CONTROL = re.compile(r"[\x00-\x20]")


def active_content_problem(name: str, data: bytes) -> tuple[int, str] | None:
    """(line, why) when the file named `name` (its suffix decides how it is read) holding `data` is active content
    (see the module's docstring), or None. Linear in len(data)."""
    lower = name.lower()
    if lower.endswith(HTML_SUFFIXES):
        return (
            1,
            "an HTML file beside a post runs as a page of the site, and raw_html is false: remove it (or set raw_html: true)",
        )
    if not lower.endswith(MARKUP_SUFFIXES):
        return None
    text = data.decode("utf-8", "replace").lower()
    found = [(m.start(), f"holds {m.group().strip()[:30]!r}") for m in [_ACTIVE.search(text)] if m]
    link = _unsafe_link(text)
    if link is not None:
        found.append(link)
    if not found:
        return None
    where, what = min(found)
    kind = lower.rsplit(".", 1)[-1].upper()
    return (
        text.count("\n", 0, where) + 1,
        f"this {kind} {what}, which a browser runs as script on the site, and raw_html is false: remove the script "
        "(a figure needs none), or set raw_html: true",
    )


def _unsafe_link(text: str) -> tuple[int, str] | None:
    """(offset, why) of the first link in `text` whose URL (entities decoded, control characters and spaces
    dropped, as browsers do) is not a safe one (_SAFE_URL), or None. Each value is scanned once: the next search
    starts after it, and an unclosed quote ends the text."""
    at = 0
    while (start := _LINK_START.search(text, at)) is not None:
        quote = text[start.end() : start.end() + 1]
        if quote in ("'", '"'):
            end = text.find(quote, start.end() + 1)
            value = text[start.end() + 1 : end if end >= 0 else len(text)]
        else:  # unquoted: not well-formed XML, but an HTML parser would read it
            end = start.end()
            while end < len(text) and text[end] not in " \t\n\r>":
                end += 1
            value = text[start.end() : end]
        url = _CONTROL.sub("", unescape(value))
        if not _SAFE_URL.match(url):
            return start.start(), f"links to {url[:40]!r}"
        if end < 0:
            return None
        at = max(end + 1, start.end() + 1)
    return None
