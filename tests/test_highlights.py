"""Kept code highlights (caches/highlights.py): a kept `<pre>` is byte for byte the one highlighting afresh gives,
and a build whose code blocks did not change highlights none of them again (nor loads a lexer, in a new process)."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from pygments.lexer import RegexLexer
from pygments.token import Keyword

import primer_site.syntax.markdown_parser as parser_module
from fixture_sites import SITE_YAML, build_result, make_site, post, tree_bytes
from primer_site.caches.highlights import HighlightTable, kept_highlight_css
from primer_site.layout import CACHE_DIR
from primer_site.syntax.markdown import CodeHighlights, highlight_css, render_body

# Fences' info strings: Pygments' names and aliases, in any case; pandoc's and knitr's attribute forms; languages
# Pygments does not know; none at all.
INFOS = [
    "python", "Python", "py", "javascript", "js", "c++", "rust", "html", "yaml", "text", "console", "diff",
    "{.python .numberLines}", "{r echo=FALSE}", "{#id .haskell}", "{.no-such-language}", "no-such-language",
    "python title=\"x.py\"", "",
]  # fmt: skip
PIECES = [
    "def f(x):", "    return x < 1 && y > 2", "<script>alert('&amp;')</script>", "\t\tindented", "", "  ", "é ü 中文",
    "# comment", '"unterminated', "x = `y`", "{{ not jinja }}", "$ echo $HOME", "-removed", "+added", "\\begin{x}",
]  # fmt: skip


def seeded_blocks(seed: int, count: int) -> list[tuple[str, str]]:
    """(info string, code) pairs: code of 0 to 6 lines drawn from PIECES (empty blocks included)."""
    rng = random.Random(seed)
    return [
        (rng.choice(INFOS), "".join(rng.choice(PIECES) + "\n" for _ in range(rng.randrange(7)))) for _ in range(count)
    ]


def fenced(blocks: list[tuple[str, str]]) -> str:
    return "\n".join(f"Before.\n\n````{info}\n{code}````\n" for info, code in blocks)


@pytest.mark.parametrize("seed", range(6))
def test_a_kept_block_is_the_block_highlighted_afresh(seed: int) -> None:
    body = fenced(seeded_blocks(seed, 12))
    afresh = render_body(body, "content/a.md", 5)
    first = CodeHighlights()
    filling = render_body(body, "content/a.md", 5, highlights=first)
    assert filling == afresh
    kept = CodeHighlights(first.made.get)  # a later build: every block looked up
    again = render_body(body, "content/a.md", 5, highlights=kept)
    assert again == afresh
    # highlighted again: only the blocks that are not kept (a language Pygments does not know itself: a plugin may,
    # later; a lexer that may look another up)
    unknown = [code for info, code in seeded_blocks(seed, 12) if not pygments_own(info, code)]  # each again
    assert kept.highlighted == len(unknown)
    assert kept.used == set(first.made) != set()


def pygments_own(info: str, code: str = "") -> bool:
    """Whether the code's block is kept: the rule's own outcome (_highlight_block's flag), whose soundness
    test_a_kept_block_is_the_same_once_a_plugin_lexer_appears checks against a plugin installed for real."""
    return KEEP_RULE(code, parser_module.fence_language(info).lower())[1]


KEEP_RULE = parser_module._highlight_block  # as imported: the `highlighted` fixture counts calls of the module's


class FooLexer(RegexLexer):
    """Stands for a plugin installed (or updated) after a build: every character a keyword, found by its alias,
    its mimetype, or a guess (it claims any text)."""

    name = "Foo"
    aliases: ClassVar = ["foo"]
    mimetypes: ClassVar = ["text/x-foo"]
    tokens: ClassVar = {"root": [(r"[\s\S]", Keyword)]}

    @staticmethod
    def analyse_text(text: str) -> float:
        return 1.0


@pytest.fixture
def foo_plugin(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """A callable that installs FooLexer as a plugin: the global Pygments' lookups read the plugins from (its
    entry points, which a `pip install` would add), for the rest of the test."""
    import pygments.lexers

    def install() -> None:
        monkeypatch.setitem(
            pygments.lexers.get_lexer_by_name.__globals__, "find_plugin_lexers", lambda: iter([FooLexer])
        )

    return install


# Blocks whose lexer may look another lexer up while it runs (a nested fence, a body by its Content-Type, a guess...),
# and blocks whose lexer cannot: each with text that names the plugin's language.
LOOKING_UP = [
    ("markdown", "Text\n\n```foo\nbar\n```\n"),
    ("rst", "Text\n\n.. code-block:: foo\n\n   bar\n"),
    ("http", "POST / HTTP/1.1\nContent-Type: text/x-foo\n\nbar\n"),
    ("email", "From: a@b\nContent-Type: text/x-foo\n\nbar\n"),
    ("postgresql", "CREATE FUNCTION f() RETURNS int AS $$ bar $$ LANGUAGE foo;\n"),
    ("wikitext", '<syntaxhighlight lang="foo">bar</syntaxhighlight>\n'),
    ("tid", "```foo\nbar\n```\n"),
    ("python", "# ```foo\nx = 'LANGUAGE foo'\n"),
    ("json", '{"content-type": "text/x-foo", "x": "```foo"}\n'),
    ("bash", "cat <<EOF\n```foo\nbar\n```\nEOF\n"),
]


def test_a_kept_block_is_the_same_once_a_plugin_lexer_appears(foo_plugin: Callable[[], None]) -> None:
    """The keep rule against the thing it stands for: a block kept before a plugin appears is the block highlighted
    afresh after (a block whose lexer may find the plugin is not kept); Python's, JSON's and Bash's are kept."""
    before = {case: parser_module._highlight_block(*reversed(case)) for case in LOOKING_UP}
    foo_plugin()
    after = {case: parser_module._highlight_block(*reversed(case))[0] for case in LOOKING_UP}
    assert [case for case in LOOKING_UP if before[case][1] and before[case][0] != after[case]] == []
    assert before[("markdown", LOOKING_UP[0][1])][0] != after[("markdown", LOOKING_UP[0][1])]  # the plugin was met
    assert [language for (language, _), (_, keep) in before.items() if keep] == ["python", "json", "bash"]


NESTED = "Prose.\n\n````markdown\nText\n\n```foo\nbar\n```\n````\n"


def test_a_kept_build_is_the_cold_build_once_a_plugin_lexer_appears(
    tmp_path: Path, foo_plugin: Callable[[], None], highlighted: list[str]
) -> None:
    """A ```markdown block holding a ```foo fence, kept before a plugin for `foo` is installed, then a prose edit:
    the build with its caches gives the bytes of a build without them. Python's, JSON's and Bash's blocks stay kept
    (the edit highlights none of them again)."""
    body = NESTED + '\n```python\nx = 1\n```\n\n```json\n{"a": 1}\n```\n\n```bash\necho $HOME\n```\n'
    site = make_site(tmp_path / "site", {"content/p1.md": post("P1", "2026-01-02", body)})
    build_result(site, cache=True)
    assert sorted(highlighted) == ["bash", "json", "markdown", "python"]
    foo_plugin()
    highlighted.clear()
    (site / "content/p1.md").write_text(post("P1", "2026-01-02", body + "\nEdited."), encoding="utf-8")
    build_result(site, cache=True)
    edit = list(highlighted)
    build_result(site, output=tmp_path / "cold", cache=False)
    assert tree_bytes(site / "public") == tree_bytes(tmp_path / "cold")
    assert '<span class="k">bar</span>' in (site / "public/posts/p1/index.html").read_text(encoding="utf-8")
    assert edit == ["markdown"]


def test_a_language_pygments_does_not_know_is_never_kept() -> None:
    """A plugin installed later may know it: its block is escaped plain text only until then."""
    highlights = CodeHighlights()
    html = render_body("```no-such-language\n<x>\n```\n", "content/a.md", 1, highlights=highlights).html
    assert '<code class="language-no-such-language">&lt;x&gt;\n</code>' in html
    assert highlights.made == {} and highlights.highlighted == 1


def test_a_block_is_kept_by_its_language_and_code() -> None:
    """The same code in another language, or one character changed, is another block: highlighted, not reused."""
    highlights = CodeHighlights()
    render_body("```python\nx = 1\n```\n", "content/a.md", 1, highlights=highlights)
    looked: list[str] = []
    later = CodeHighlights(lambda key: looked.append(key) or highlights.made.get(key))
    html = render_body("```ruby\nx = 1\n```\n\n```python\nx = 2\n```\n", "content/a.md", 1, highlights=later).html
    assert later.highlighted == 2 and len(looked) == 2
    assert html == render_body("```ruby\nx = 1\n```\n\n```python\nx = 2\n```\n", "content/a.md", 1).html


@pytest.fixture
def highlighted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The languages of the code blocks highlighted (by Pygments or escaping) during a test."""
    seen: list[str] = []
    original = parser_module._highlight_block

    def counting(code: str, language: str) -> tuple[str, bool]:
        seen.append(language)
        return original(code, language)

    monkeypatch.setattr(parser_module, "_highlight_block", counting)
    return seen


CODE_POST = "Prose.\n\n```python\ndef f(x):\n    return x\n```\n\n```\nplain\n```\n"


def test_an_edit_of_prose_highlights_no_block_and_a_new_block_one(tmp_path: Path, highlighted: list[str]) -> None:
    site = make_site(
        tmp_path / "site", {f"content/p{i}.md": post(f"P{i}", f"2026-01-0{i}", CODE_POST + f"P{i}.") for i in (1, 2)}
    )
    build_result(site, cache=True)
    assert sorted(highlighted) == ["", "python"]  # the same blocks in both posts: highlighted once
    highlighted.clear()
    (site / "content/p1.md").write_text(post("P1", "2026-01-01", CODE_POST + "Edited prose."), encoding="utf-8")
    build_result(site, cache=True)  # a new BuildMemory: as a new process, but for the lexers Python keeps loaded
    assert highlighted == []
    (site / "content/p1.md").write_text(
        post("P1", "2026-01-01", CODE_POST + "```js\nlet x = 1;\n```\n"), encoding="utf-8"
    )
    build_result(site, cache=True)
    assert highlighted == ["js"]
    warm = tree_bytes(site / "public")
    build_result(site, output=tmp_path / "cold", cache=False)
    assert tree_bytes(tmp_path / "cold") == warm


def test_a_damaged_or_foreign_table_is_highlighted_afresh(tmp_path: Path, highlighted: list[str]) -> None:
    site = make_site(tmp_path / "site", {"content/p1.md": post("P1", "2026-01-01", CODE_POST)})
    build_result(site, cache=True)
    table = site / CACHE_DIR / "highlights.sqlite3"
    db = sqlite3.connect(table)
    db.execute("UPDATE meta SET salt = 'pygments=0.0;code=another'")
    db.commit()
    db.close()
    highlighted.clear()
    (site / "content/p1.md").write_text(post("P1", "2026-01-01", CODE_POST + "More."), encoding="utf-8")
    build_result(site, cache=True)
    assert sorted(highlighted) == ["", "python"]  # another salt: emptied, not read
    table.write_bytes(b"not a database")
    (site / "content/p1.md").write_text(post("P1", "2026-01-01", CODE_POST + "Again."), encoding="utf-8")
    build_result(site, cache=True)
    build_result(site, output=tmp_path / "cold", cache=False)
    assert tree_bytes(tmp_path / "cold") == tree_bytes(site / "public")


def test_the_table_keeps_the_last_full_builds_blocks_and_drops_the_least_recently_used(tmp_path: Path) -> None:
    def count(table: HighlightTable) -> int:
        assert table.db is not None
        return int(table.db.execute("SELECT COUNT(*) FROM highlights").fetchone()[0])

    table = HighlightTable(tmp_path)
    full = table.highlights()
    full.add({f"k{i}": f"<pre>{i}</pre>\n" for i in range(3000)}, 3000)  # stored as it goes
    assert full.made == {} and count(table) == 3000
    assert table.keep(full, every_post=True)
    table.close()
    table = HighlightTable(tmp_path)  # a later build: uses k0, makes one block
    edits = table.highlights()
    assert edits.block("x = 1\n", "python", "") == parser_module.highlight_block("x = 1\n", "python")
    edits.used.add("k0")
    assert table.keep(edits, every_post=False) and count(table) == 3001
    table.close()
    table = HighlightTable(tmp_path)  # another makes 6,000: past max(4096, 2 × 3000), the oldest go
    many = table.highlights()
    many.add({f"new{i}": "<pre></pre>\n" for i in range(6000)}, 6000)
    assert table.keep(many, every_post=False) and count(table) == 6000
    assert table.lookup("new5999") is not None and table.lookup("k1") is None
    table.close()
    table = HighlightTable(tmp_path)  # a build of every post that used one block and made one: only those kept
    again = table.highlights()
    again.used.add("new7")
    again.add({"fresh": "<pre>f</pre>\n"}, 1)
    assert table.keep(again, every_post=True) and count(table) == 2
    assert table.lookup("new7") == "<pre></pre>\n" and table.lookup("new8") is None
    table.close()


def test_the_kept_styles_are_the_styles_made_afresh(tmp_path: Path) -> None:
    made = highlight_css("default", "github-dark")
    assert kept_highlight_css(tmp_path, "default", "github-dark") == made  # made, and kept
    assert HighlightTable(tmp_path).lookup("css default github-dark") == made
    assert kept_highlight_css(tmp_path, "default", "github-dark") == made  # read back
    full = CodeHighlights()
    full.made = {"k": "<pre></pre>\n"}
    HighlightTable(tmp_path).keep(full, every_post=True)  # a full build's blocks replace the blocks only
    assert HighlightTable(tmp_path).lookup("css default github-dark") == made


def test_only_the_default_styles_are_kept(tmp_path: Path) -> None:
    """Another style may be a plugin's, which can change while Pygments' version (the table's salt) does not."""
    site = make_site(tmp_path / "site", {"site.yaml": SITE_YAML + "highlight: {light: monokai, dark: github-dark}\n"})
    build_result(site, cache=True)
    assert HighlightTable(site).lookup("css monokai github-dark") is None
    (published,) = (site / "public/css").glob("syntax.*.css")  # under its fingerprinted name
    assert published.read_text(encoding="utf-8") == highlight_css("monokai", "github-dark")
    make_site(site, {"site.yaml": SITE_YAML})
    build_result(site, cache=True)
    assert HighlightTable(site).lookup("css default github-dark") == highlight_css("default", "github-dark")


def test_blocks_highlighted_by_workers_are_kept(tmp_path: Path, highlighted: list[str]) -> None:
    """A render on worker processes (64 posts or more) sends back what each highlighted; the next edit finds it."""
    blocks = seeded_blocks(7, 70)
    site = make_site(
        tmp_path / "site",
        {f"content/p{i:02}.md": post(f"P{i}", "2026-01-02", fenced([block])) for i, block in enumerate(blocks)},
    )
    build_result(site, cache=True, jobs=2)
    assert highlighted == []  # in the workers, not here
    table = HighlightTable(site)
    assert table.db is not None
    assert table.db.execute("SELECT COUNT(*) FROM highlights WHERE key NOT LIKE 'css %'").fetchone()[0] == len(
        {(parser_module.fence_language(info).lower(), code) for info, code in blocks if pygments_own(info, code)}
    )
    table.close()
    (site / "content/p05.md").write_text(post("P5", "2026-01-02", fenced([blocks[5]]) + "Edited."), encoding="utf-8")
    build_result(site, cache=True)
    assert highlighted == ([] if pygments_own(*blocks[5]) else [parser_module.fence_language(blocks[5][0]).lower()])
    build_result(site, output=tmp_path / "cold", cache=False)
    assert tree_bytes(tmp_path / "cold") == tree_bytes(site / "public")


def _steps_to_mark_a_block_used(root: Path, blocks: int) -> int:
    """The steps of SQLite's machine that a build which used one kept block takes to mark it (HighlightTable.keep),
    in a table of `blocks` blocks kept by an earlier process."""
    root.mkdir()
    table = HighlightTable(root)
    table.put_many({f"{n:032x}": f"<pre>{n}</pre>" for n in range(blocks)})
    table.close()
    table = HighlightTable(root)  # a new process's
    assert table.db is not None
    highlights = table.highlights()
    assert highlights.lookup is not None and highlights.lookup(f"{0:032x}") == "<pre>0</pre>"
    highlights.used.add(f"{0:032x}")
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0  # go on

    table.db.set_progress_handler(step, 1)
    assert table.keep(highlights, every_post=False)
    table.db.set_progress_handler(None, 1)
    used = dict(table.db.execute("SELECT key, used FROM highlights"))
    table.close()
    assert used[f"{0:032x}"] == 2 and set(used.values()) == {1, 2}
    return steps[0]


def test_marking_a_block_used_reads_no_other_row(tmp_path: Path) -> None:
    # this build's stamp is the greatest kept plus one: found by an index on it, not by a scan of every row and its
    # `<pre>` (~3 MB at 1,000 posts, in every build that renders a block). Counted over growing tables
    steps = [_steps_to_mark_a_block_used(tmp_path / str(n), n) for n in (100, 400)]
    assert steps[1] - steps[0] < 50, steps
