"""The round-trip invariant of text: every word of a body's prose reaches the page, as text, or as an image's
alt or title, or a figure's caption, and nothing the Markdown rules call markup (`{#id}`, `:::`, `$`, `![`, `*`)
is left on it.

Bodies are generated from the constructs real math blogs mix (tests/test_markdown_fidelity.py has the cases
that broke): lists with lazy display lines, quotes, raw HTML blocks with Markdown inside, headings with
attributes, admonitions with titles, images, figures, tables, footnotes and math. Every word is unique (`w17`),
so a word lost, or shown twice where it is written once, is found.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from primer_site.syntax.markdown import render_body

WORD = re.compile(r"w\d+")
MARKUP = ("{#", "{.", "{-}", ":::", "$", "![", "](", "**", "[^")


class _Visible(HTMLParser):
    """The text a reader can see or hear on a page: text nodes, and alt and title attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.extend(value or "" for name, value in attrs if name in ("alt", "title"))

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(page: str) -> str:
    reader = _Visible()
    reader.feed(page)
    reader.close()
    return " ".join(reader.parts)


# Templates: each "@" is a new word, "LINE" a line of prose, "N" a number for an id or a footnote
INLINE = (
    "@", "*@*", "**@ @**", "`@`", "[@](https://example.org/)", "$@+1$", "$\\mathrm{@}$", "![@ $@^2$](a.png)",
    '![@](a.png "@ @")',
)  # fmt: skip
BLOCKS = (
    "LINE",
    "## LINE {#id-N .part}",
    "### LINE {-}",
    "## LINE",
    "- LINE\n- @\n  - @",
    "1. LINE\n$$@^2$$\n2. @",  # a lazy display line: one list
    "> LINE\n@\n> @",
    "> @\n$$@$$",  # a lazy display line: one quote
    '<div class="note">\n\nLINE\n\n</div>',
    "<div>@ @</div>",
    "$$\n\\text{@} + 1\n$$",
    "::: note @ *@* $@$\nLINE\n:::",
    '![@ @](fig.png "@ $@$")',  # a figure: alt, and a caption
    "| @ | @ |\n|---|---|\n| LINE | $@$ |",
    "LINE[^N]\n\n[^N]: @",
    "\\begin{align*}\n\\text{@} &= 1\n\\end{align*}",
    "- @\n  > LINE\n  $$@$$",
    "::: warning LINE\n- @\n\n> @\n:::",
    "@\n: LINE",
    "LINE\n\\[@\\]\n@",
    "## [@](b.md) and $@$ {.unlisted}",
    "<details>\n<summary>@</summary>\n\nLINE\n\n</details>",
)
_SLOT = re.compile(r"@|LINE|N")


def build(shape: list[tuple[int, list[int]]]) -> tuple[str, list[str]]:
    """A body from (block, [inline kinds]) pairs, and its words in order."""
    written: list[str] = []

    def fill(template: str, kinds: list[int], number: int) -> str:
        def slot(match: re.Match[str]) -> str:
            if match.group() == "N":
                return str(number)
            if match.group() == "LINE":
                return " ".join(fill(INLINE[kind % len(INLINE)], [], number) for kind in kinds)
            written.append(f"w{len(written) + 1}")
            return written[-1]

        return _SLOT.sub(slot, template)

    blocks = [fill(BLOCKS[kind % len(BLOCKS)], kinds, index) for index, (kind, kinds) in enumerate(shape)]
    return "\n\n".join(blocks) + "\n", written


bodies = st.lists(
    st.tuples(st.integers(0, len(BLOCKS) - 1), st.lists(st.integers(0, 8), min_size=1, max_size=5)),
    min_size=1,
    max_size=8,
)


def assert_text_reaches_the_page(body: str, written: list[str]) -> None:
    rendered = render_body(body, "content/x.md", 5)
    assert [e for e in rendered.errors if e.severity == "error"] == [], body
    text = visible_text(rendered.html)
    seen = Counter(WORD.findall(text))
    lost = [w for w in written if w not in seen]
    assert not lost, (lost, body, rendered.html)
    doubled = {w: n for w, n in seen.items() if n > written.count(w)}
    assert not doubled, (doubled, body, rendered.html)
    prose = re.sub(r"\\[A-Za-z]+|\{w\d+\}", " ", text)  # math elements' TeX is theirs: braces and commands
    left = [m for m in MARKUP if m in prose]
    assert not left, (left, body, rendered.html)


def test_a_figure_shows_its_alt_and_caption_words_once_each() -> None:
    body, written = build([(12, [0])])
    assert body == '![w1 w2](fig.png "w3 $w4$")\n'
    assert_text_reaches_the_page(body, written)


@settings(max_examples=400, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies)
def test_every_word_of_the_prose_reaches_the_page(shape: list[tuple[int, list[int]]]) -> None:
    body, written = build(shape)
    assert_text_reaches_the_page(body, written)
