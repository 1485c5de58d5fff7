"""The print page as the PDF's renderer gets it (pdf.py): every link that leaves the page absolute, so that a link in
the PDF leads to the published site; KaTeX's files from the renderer's own server; each chapter's sections a level
below its title, for the PDF's outline; and the URLs of what the page would load from other sites, which the
renderer is not let fetch.

The page is rewritten by book.py's rewriter (the standard library's HTML tokenizer; every byte kept but the
attributes it changes).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from primer_site.rendering.book import _Rewriter
from primer_site.syntax.rawhtml import URL_ATTRIBUTES

KATEX_PATH = "/.primer-site-katex/"  # where the renderer's server puts the katex package's dist/ folder


def page_for_renderer(page: str, url: str, katex_url: str | None) -> tuple[str, list[str]]:
    """The print page (HTML, published at the absolute `url`) as the renderer gets it: every link that leaves the
    page made absolute (urljoin on `url`); KaTeX's files, at `katex_url` (a CDN's), taken from the server's copy
    of the katex package; each chapter's own headings (h2-h5, ids "ch-<slug>--…") one level below its title.
    With it, the URLs of what the page loads from other sites (images, stylesheets, scripts), which the renderer
    is not let fetch."""
    rewriter = _ForRenderer(url, katex_url)
    rewriter.feed(page)
    rewriter.close()
    return "".join(rewriter.pieces), rewriter.outside


class _ForRenderer(_Rewriter):
    """book.py's rewriter (every byte kept but the attributes it changes), with the renderer's changes."""

    def __init__(self, url: str, katex_url: str | None) -> None:
        super().__init__("", {})
        self.url, self.katex_url = url, katex_url
        self.tag = ""
        self.outside: list[str] = []  # what the page loads from another site (not its links)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = self.get_starttag_text() or ""
        values = dict(attrs)
        loads = tag != "link" or bool(
            {"stylesheet", "preload", "modulepreload"} & set((values.get("rel") or "").split())
        )
        for name in _LOADED.get(tag, ()) if loads else ():
            for url in _urls(name, values.get(name)):
                if urlsplit(url).netloc and not (self.katex_url and url.startswith(self.katex_url)):
                    self.outside.append(url)
        if tag == "a" and "anchor" in (values.get("class") or "").split() and self.pieces:
            # a heading's own link, hidden in print: the space before it would end the outline's entry
            last = self.pieces[-1]
            self.pieces[-1] = last.rstrip() if not last.endswith(">") else last
        if tag in ("a", "area") or (self.katex_url and tag in ("link", "script")):
            self.tag = tag
            text = self._rewrite(text, tag)
        level = int(tag[1]) if len(tag) == 2 and tag[0] == "h" and tag[1] in "23456" else 0
        if level and (values.get("id") or "").startswith("ch-") and "post-title" not in (values.get("class") or ""):
            # a section of a chapter: beneath the chapter's title (h2) in the PDF's outline
            end = len(text) - (2 if text.endswith("/>") else 1)
            text = f'{text[:end]} aria-level="{min(level + 1, 6)}"{text[end:]}'
        self.pieces.append(text)

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            # Chromium's outline drops the space where a heading's line wraps ("LanguageModels"): spaces kept
            # where the line wraps keep the outline's words apart
            self.pieces.append("<style>h1, h2, h3, h4, h5, h6 { white-space: pre-wrap; }</style>\n")
        super().handle_endtag(tag)

    def _value(self, name: str, value: str) -> str | None:
        if name not in ("href", "src") or value.startswith("#"):
            return None
        if self.katex_url and value.startswith(self.katex_url):
            return KATEX_PATH + value[len(self.katex_url) :]
        return urljoin(self.url, value) if self.tag in ("a", "area") else None


# What an element loads (HTML standard, "Attributes" index): links are followed by readers, these by the renderer.
_LOADED = {**{tag: names for tag, names in URL_ATTRIBUTES.items() if tag not in ("a", "area")}, "link": ("href",)}
_LOADED["script"] = ("src",)


def _urls(name: str, value: str | None) -> list[str]:
    if not value:
        return []
    if name == "srcset":  # "url 2x, url 640w"
        return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]
    return [value.strip()]
