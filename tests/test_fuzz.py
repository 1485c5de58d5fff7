"""Fuzzing the whole build: any site either builds or fails with errors located at `path:line: error: message`.

Hypothesis writes sites of one to three posts (and sometimes a series file and a site.yaml) whose front matter
mixes random keys, types, nesting, YAML tags, anchors and aliases, huge and empty values and escaped NUL and lone
surrogates, and whose bodies mix math delimiters, backticks, brackets, pipes, HTML, footnotes, `:::` fences and
unicode (RTL, combining marks). Each example is built in this process under a wall-clock alarm, and must
(1) succeed or raise SiteError whose every diagnostic is located in content/, series/, templates/ or site.yaml,
(2) finish within its time bound, (3) write nothing outside the output folder and its staging folder.

Profiles: "ci" (the default: a fixed few hundred examples, derandomised so CI is repeatable) and "long"
(bench/fuzz.py: a seeded campaign of 10,000+ examples). PRIMER_FUZZ_PROFILE picks one for pytest too.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixture_sites import NOW, make_site, time_bound
from primer_site.commands.build import BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.sources.parse import KNOWN_KEYS

EXAMPLE_SECONDS = 20.0  # one example is a 1-3 post site: ~0.05 s; a hang is anything near this

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
}
settings.register_profile("ci", max_examples=200, derandomize=True, **_COMMON)  # bench/fuzz.py: 10,000
settings.register_profile("long", max_examples=10_000, **_COMMON)
PROFILE = settings.get_profile(os.environ.get("PRIMER_FUZZ_PROFILE", "ci"))

# `path:line: severity: message` (a column may follow the line), on one line, in a file the author owns
LOCATED = re.compile(r"^(content/.+|series/.+|templates/.+|site\.yaml):[1-9]\d*(:\d+)?: (error|warning): \S.*$")


# ---------------------------------------------------------------- YAML, as text, so every syntax is reachable


@dataclass(frozen=True)
class Node:
    """A YAML value to be written out: a scalar's text, or a collection of nodes, maybe anchored or tagged."""

    kind: str  # "scalar" (one line), "block" (a |/> block scalar), "seq", "map", "alias"
    text: str = ""
    items: tuple[tuple[str, Node], ...] = ()  # (key, value) for a map; ("", value) for a seq
    flow: bool = False
    prefix: str = ""  # "&a ", "!!set ", "!local " …


SCALARS = [
    "x", "Hello, world", "0", "-1", "3.5", "1e400", "-.inf", ".nan", "~", "null", "true", "no", "on",
    "2026-01-05", "2026-02-30", "2024-13-45", "2026-01-05T10:00:00+01:00", "2026-01-05 10:00:00",
    "2026-01-05T25:00:00", "2026-01-05 10:00:00 +99:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
    "0x1F", "0o17", "1_000", "190:20:30", "9" * 5000, '""', "''", '"\\0"', '"a\\0b"', '"\\ud800"', '"x\\udfff"',
    '"\\x7f"', '"\\x1b[31m"', '"\\u202eevil"', '"\\U0001F600"', '"\\N\\_\\L\\P"', '"a\\nb"', '"\\e"',
    '"../../etc/passwd"', '"<script>alert(1)</script>"', '"javascript:alert(1)"', '"]]>"', '"\'\\"><b>"',
    "!!binary aGVsbG8=", "!!str 3", "!!int x", "!!float y", "!!bool maybe", "!!timestamp nope", '!!null ""',
    "!!python/object:os.system x", "!!python/name:os.system", "!local x", "!<tag:yaml.org,2002:str> x",
    "*nowhere", "'" + "x" * 100_000 + "'", "a: b", "- x", "[unclosed", "{unclosed", "'unclosed", '"unclosed',
    "@reserved", "`reserved", "%", "# only a comment", "1.3", "'1.3'", "0", "3", "10", "1.2.3", "-5", "'007'",
    "Café", "cafe", "CAFE", "数学", "שלום", "مرحبا", "e\u0301", "\u200f", "ﷺ", "𝔼",
]  # fmt: skip
TAGS = ["!!set ", "!!omap ", "!!pairs ", "!!seq ", "!!map ", "!!str ", "!local ", "!!python/tuple "]
ANCHORS = ["a", "b", "c"]


def _scalar_from_text(text: str) -> Node:
    return Node("scalar", json.dumps(text, ensure_ascii=False))  # a JSON string is a YAML double-quoted scalar


scalars = st.one_of(
    st.sampled_from(SCALARS).map(lambda t: Node("scalar", t)),
    st.text(max_size=40).map(_scalar_from_text),
    st.text(st.characters(codec="utf-8"), max_size=20).map(lambda t: Node("scalar", t.replace("\n", " "))),
    st.integers().map(lambda n: Node("scalar", str(n))),
    st.lists(st.sampled_from(["line", "", "  indented", "$x$", "# no", "- no"]), max_size=4).map(
        lambda lines: Node("block", "\n".join(lines))
    ),
)


def _collections(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    keys = st.one_of(st.sampled_from(["k", "x", "1", "null", "<<", "? [a]", "'q'", "ü"]), st.text(max_size=8))
    return st.one_of(
        st.builds(lambda items, flow: Node("seq", items=tuple(("", i) for i in items), flow=flow),
                  st.lists(children, max_size=4), st.booleans()),
        st.builds(lambda pairs, flow: Node("map", items=tuple(pairs), flow=flow),
                  st.lists(st.tuples(keys, children), max_size=4), st.booleans()),
    )  # fmt: skip


def _decorated(node: Node, prefix: str) -> Node:
    return Node(node.kind, node.text, node.items, node.flow, prefix + node.prefix)


values = st.recursive(scalars, _collections, max_leaves=12)
values = st.one_of(
    values,
    st.builds(_decorated, values, st.sampled_from(ANCHORS).map(lambda a: f"&{a} ")),
    st.builds(_decorated, values, st.sampled_from(TAGS)),
    st.sampled_from(ANCHORS).map(lambda a: Node("alias", f"*{a}")),
)


def _key_text(key: str) -> str:
    if key.startswith(("? ", "'")) or key in ("<<", "null", "1", "k", "x", "ü") or key in KNOWN_KEYS:
        return key
    return json.dumps(key, ensure_ascii=False)


def _flow(node: Node) -> str:
    if node.kind in ("scalar", "alias"):
        body = node.text
    elif node.kind == "block":
        body = json.dumps(node.text)
    elif node.kind == "seq":
        body = "[" + ", ".join(_flow(v) for _, v in node.items) + "]"
    else:
        body = "{" + ", ".join(f"{_key_text(k)}: {_flow(v)}" for k, v in node.items) + "}"
    return node.prefix + body


def _after_key(node: Node, indent: int) -> str:
    """What follows `key:` (or `-`): the value on the same line, or a block on the next lines."""
    pad = " " * indent
    prefix = (" " + node.prefix.strip()) if node.prefix else ""
    if node.kind in ("scalar", "alias") or node.flow or (not node.items and node.kind in ("seq", "map")):
        return " " + _flow(node)
    if node.kind == "block":
        lines = node.text.split("\n")
        return f"{prefix} |\n" + "\n".join(pad + "  " + line if line else "" for line in lines)
    if node.kind == "seq":
        return prefix + "".join(f"\n{pad}-{_after_key(v, indent + 2)}" for _, v in node.items)
    return prefix + "".join(f"\n{pad}{_key_text(k)}:{_after_key(v, indent + 2)}" for k, v in node.items)


dates = st.one_of(
    st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    st.just("2026-01-05"),
    st.sampled_from(["2026-01-05T10:00:00+01:00", "'2026-01-05'", "2030-01-01", "tomorrow", "2026-02-30"]),
)
titles = st.one_of(st.text(min_size=1, max_size=30).map(lambda t: json.dumps(t)), st.sampled_from(SCALARS))


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    """YAML for a post: usually a title and a date (so the body gets rendered), then random keys and values."""
    entries: list[tuple[str, str]] = []
    if draw(st.integers(0, 9)) > 0:
        entries.append(("title", " " + draw(titles)))
    if draw(st.integers(0, 9)) > 0:
        entries.append(("date", " " + draw(dates)))
    if draw(st.integers(0, 3)) == 0:
        entries += [("series", " s"), ("chapter", " " + draw(st.sampled_from(["1", "2", "'1.3'", "0", "1"])))]
    for _ in range(draw(st.integers(0, 5))):
        key = draw(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=10), st.sampled_from(["<<", "? [x]"])))
        entries.append((key, _after_key(draw(values), 2)))
    entries = draw(st.permutations(entries))
    return "\n".join(f"{_key_text(k)}:{v}" for k, v in entries)


# ---------------------------------------------------------------- Markdown bodies

FRAGMENTS = [
    "$", "$$", "$x$", "$$\nx\n$$", "\\(", "\\)", "\\[", "\\]", "\\begin{align}", "\\end{align}", "\\$", "$5 and $10",
    "`", "``", "```", "```python\n", "```\"><script>\n", "~~~", "[", "]", "(", ")", "[x](p1.md)", "[x](p0.md#intro)",
    "[x](sub/p2.md)", "[x](nowhere.md)", "[x](p1.md#%0A)", "[x](%ff.md)", "[x](javascript:alert(1))", "![i](a.png)",
    "<https://x.example>", "|", "| a | b |\n|---|---|\n", "---", "***", "<div>", "</div>", "<script>x</script>",
    "<!--", "-->", "<b", "&amp;", "&#0;", "&#x110000;", "[^1]", "[^1]: note", "[^]", ":::", "::: note", "::: tip T",
    "::: warning \"><b>\n", "::: nope", ":::::", "> ", "- ", "1. ", "* [ ] ", "# ", "## Intro", "#", "Term\n: def",
    "*", "_", "**", "~~", "\\", "{", "}", "{{ x }}", "{% raw %}", "\x00", "\t", "\r\n", "\r", "\ufeff", "\u200f",
    "\u202e", "\u0301", "e\u0301", "שלום", "مرحبا", "数学", "𝔼", "\n", "\n\n", "  \n", "    code\n",
]  # fmt: skip
bodies = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40).map("".join)


# ---------------------------------------------------------------- sites

POST_NAMES = ["p0.md", "p1.md", "sub/p2.md", "Café.md", "cafe.md", "2026-01-05-p3.md", "-.md", "a b.md", "ü/Ö.md"]
CLEAN_NAMES = ["p0.md", "p1.md", "sub/p2.md", "Café.md", "2026-01-05-p3.md", "a b.md", "ü/Ö.md", "שלום.md"]
CONFIG_LINES = [
    "title: Fuzz", "title: '\"><script>'", "raw_html: false", "raw_html: 3", "paginate: 1", "paginate: 0",
    "timezone: Europe/Paris", "timezone: Nowhere/Else", "base_url: https://x.example/sub/", "base_url: 'javascript:x'",
    "permalinks: {post: '/{year}/{slug}/'}", "permalinks: {post: '/p/{slug}/{x}/'}", "permalinks: {tag: '/t/{'}",
    "permalinks: {post: '/../{slug}/'}", "feeds: {content: full}", "feeds: {limit: -1}", "menu: [{name: a, url: b}]",
    "menu: 3", "highlight: {light: nope}", "extra: {a: [1, {b: 2}]}", "unknown_key: 1", "macros: {E: '\\mathbb{E}'}",
    "language: '\"'", "katex_url: ''",
]  # fmt: skip


# Values that are valid but hostile: markup, quotes, RTL and combining marks, emoji, huge, TeX.
texts = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=40),
    st.sampled_from(['"><script>alert(1)</script>', "</script><!--", "javascript:alert(1)", "]]>", "a & b < c",
                     "\u202eevil", "e\u0301", "$x$ and \\(y\\)", "{{ config }}", "'", "x" * 5000, "𝔼[X]"]),
).filter(lambda t: t.strip())  # fmt: skip
words = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)
json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(words, children, max_size=3)),
    max_leaves=8,
)


@st.composite
def clean_front_matter(draw: st.DrawFn, index: int) -> str:
    """Front matter that must build: every value of the right type, most of them hostile text."""
    data: dict[str, object] = {
        "title": draw(texts),
        "date": draw(dates.filter(lambda d: d[0].isdigit() and "02-30" not in d)),
    }
    for key, strategy in [
        ("summary", texts), ("description", texts), ("category", words), ("tags", st.lists(words, max_size=4)),
        ("updated", st.just("2026-03-01")), ("draft", st.just(False)), ("extra", st.dictionaries(words, json_like)),
        ("unknown", json_like),
    ]:  # fmt: skip
        if draw(st.booleans()):
            data[key] = draw(strategy)
    if draw(st.booleans()):
        data.update(series="s", chapter=f"{index}.{draw(st.integers(0, 3))}")
    lines = []
    for key, value in data.items():
        text = value if key in ("date", "updated") else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {text}")
    return "\n".join(lines)


@st.composite
def clean_bodies(draw: st.DrawFn, names: list[str], name: str) -> str:
    """A body of any fragments but links that cannot resolve (those are errors by design)."""
    here = name.rsplit("/", 1)[0] if "/" in name else ""
    links = [f"[link]({'../' if here else ''}{n})" for n in names]
    pieces = [f for f in FRAGMENTS if ".md" not in f] + links
    return "".join(draw(st.lists(st.one_of(st.sampled_from(pieces), st.text(max_size=12)), max_size=40)))


@st.composite
def sites(draw: st.DrawFn) -> dict[str, str]:
    """{relative path: text} for a site of one to three posts, maybe a series file and a site.yaml."""
    if draw(st.integers(0, 9)) < 4:  # four in ten: sites that must build, so that rendering is fuzzed too
        names = draw(st.lists(st.sampled_from(CLEAN_NAMES), min_size=1, max_size=3, unique=True))
        return {
            f"content/{name}": f"---\n{draw(clean_front_matter(i))}\n---\n{draw(clean_bodies(names, name))}\n"
            for i, name in enumerate(names)
        }
    files: dict[str, str] = {}
    names = draw(st.lists(st.sampled_from(POST_NAMES), min_size=1, max_size=3, unique=True))
    for name in names:
        files[f"content/{name}"] = f"---\n{draw(front_matter())}\n---\n{draw(bodies)}\n"
    if draw(st.integers(0, 3)) == 0:
        series = draw(st.sampled_from(["title: S", "title: S\nchapters: 3\ngaps: [2]", "kind: collection"]))
        files["series/s.md"] = f"---\n{series}\n{draw(front_matter())}\n---\n{draw(bodies)}\n"
    if draw(st.integers(0, 3)) == 0:
        lines = draw(st.lists(st.sampled_from(CONFIG_LINES), max_size=4, unique=True))
        if not any(line.startswith("base_url:") for line in lines):
            lines = ["base_url: https://example.org/", *lines]  # a site.yaml without one is refused
        files["site.yaml"] = "\n".join(lines) + "\n"
    return files


# ---------------------------------------------------------------- the property


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            found[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns)
    return found


def check_site(files: dict[str, str]) -> tuple[str, list[str]]:
    """Build the site: ("built", []) or ("refused", its diagnostics, every one located); else AssertionError."""
    with tempfile.TemporaryDirectory(prefix="primer-fuzz-") as folder:
        root = Path(folder)
        source = root / "site"
        for relative, text in {"site.yaml": "title: Fuzz\nbase_url: https://example.org/\n", **files}.items():
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            (source / relative).write_bytes(text.encode("utf-8"))  # as generated: no newline translation
        (root / "out").mkdir()
        before = _listing(root)
        shown: list[str] = []
        try:
            with time_bound(EXAMPLE_SECONDS):
                build_site(BuildOptions(source=source, output=root / "out" / "public", now=NOW, jobs=1, cache=False))
            outcome = "built"
        except SiteError as error:
            shown = [str(d) for d in error.diagnostics]
            unlocated = [line for line in shown if not LOCATED.match(line)]
            assert not unlocated, f"diagnostics not in the path:line: form: {unlocated}"
            assert any(d.severity == "error" for d in error.diagnostics)
            outcome = "refused"
        after = _listing(root)
        allowed = ("out/public", "out/.public.staging")
        changed = {p for p in after.keys() - before.keys() if not p.startswith(allowed)}
        changed |= {p for p in before if before[p] != after.get(p) and not p.startswith(("out",))}
        assert not changed, f"the build wrote outside its output folder: {sorted(changed)}"
        if outcome == "built":
            assert (root / "out/public/index.html").is_file()
        return outcome, shown


@pytest.mark.long
@settings(PROFILE)
@given(sites())
def test_any_site_builds_or_reports_located_errors(files: dict[str, str]) -> None:
    check_site(files)


# ---------------------------------------------------------------- crashes the fuzzer found, kept as tests

FOUND = {
    # a date YAML reads as a timestamp but the calendar refuses: ValueError from PyYAML
    "impossible-date": ("updated: 2026-02-30", 'content/a.md:4: error: updated: "2026-02-30" is not a date'),
    "impossible-hour": ("updated: 2026-01-01T25:00:00", 'content/a.md:4: error: updated: "2026-01-01T25:00:00"'),
    "bad-explicit-timestamp": ("updated: !!timestamp nope", 'content/a.md:4: error: updated: "nope" is not a date'),
    "bad-explicit-bool": ("draft: !!bool maybe", "content/a.md:4: error: draft: expected true or false, got 'maybe'"),
    # int() refuses more than 4,300 digits
    "5000-digit-number": ("summary: " + "9" * 5000, None),
    "5000-digit-chapter": ("series: s\nchapter: '" + "9" * 5000 + "'", "content/a.md:5: error: chapter: '999"),
    # extra's items were sorted by (key, value): 1 and "1" made a list and a dict compare
    "extra-keys-alike": ("extra: {1: [1], '1': {}}", None),
    # a series or category with no letters made a page at series//: an error with no file or line
    "series-without-letters": ("series: '...'\nchapter: 1", 'content/a.md:4: error: series: "..." has no letters'),
    "category-without-letters": ("category: '!!!'", 'content/a.md:4: error: category: "!!!" has no letters'),
    # a value with a newline printed a message over two lines
    "newline-in-value": ('updated: "a\\nb"', 'content/a.md:4: error: updated: "a\\nb" is not a date'),
}


@pytest.mark.parametrize("name", FOUND)
def test_crashes_found_by_fuzzing(name: str) -> None:
    yaml, expected = FOUND[name]
    outcome, shown = check_site({"content/a.md": f"---\ntitle: T\ndate: 2026-01-05\n{yaml}\n---\nBody.\n"})
    if expected is None:
        assert outcome == "built"
    else:
        assert any(line.startswith(expected) for line in shown), shown


def test_a_file_name_without_letters_needs_a_slug() -> None:
    """It made a page at posts//: refused by the writer with no file or line."""
    assert check_site({"content/-.md": "---\ntitle: T\ndate: 2026-01-05\n---\n"}) == (
        "refused",
        ["content/-.md:2: error: slug: the file name has no letters or digits to make a URL from: add a 'slug:'"],
    )
    assert check_site({"content/-.md": "---\ntitle: T\ndate: 2026-01-05\nslug: dash\n---\n"})[0] == "built"


def test_a_collection_whose_slug_posts_use_as_their_series() -> None:
    """Both pages went to series/s/: reported at site.yaml, with no line, by the check for duplicate outputs."""
    files = {
        "content/a.md": "---\ntitle: T\ndate: 2026-01-05\nseries: s\nchapter: 1\n---\n",
        "series/s.md": "---\ntitle: S\nkind: collection\n---\n",
    }
    assert check_site(files) == (
        "refused",
        ["series/s.md:3: error: kind: 's' is a collection, but posts name it as their series (rename the file, "
         "or their 'series:')"],
    )  # fmt: skip


BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
)  # ten billion leaves, made of 100 nodes


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # refused where the aliases first expand past 100,000 values (yamldoc.MAX_ALIAS_EXPANSION), whatever uses them
        (
            {"content/a.md": f"---\n{BOMB}\ntitle: *a9\ndate: 2026-01-05\n---\n"},
            "content/a.md:6:5: error: YAML: this value holds 111,111 values",
        ),
        (
            {"content/a.md": f"---\n{BOMB}\ntitle: T\ntags: *a9\ndate: 2026-01-05\n---\n"},
            "content/a.md:6:5: error: YAML: this value holds 111,111 values",
        ),
        (
            {"content/a.md": f"---\n{BOMB}\n? *a9\n: x\n---\n"},
            "content/a.md:6:5: error: YAML: this value holds 111,111 values",
        ),
        ({"site.yaml": f"{BOMB}\ntitle: *a9\n"}, "site.yaml:5:5: error: YAML: this value holds 111,111 values"),
        ({"site.yaml": f"{BOMB}\nmenu: [*a9]\n"}, "site.yaml:5:5: error: YAML: this value holds 111,111 values"),
    ],
    ids=["title", "tags", "key", "site-title", "menu"],
)
def test_an_alias_bomb_is_reported_not_printed(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    """Messages showed values with repr(): ten billion leaves never finished printing."""
    make_site(tmp_path, {"content/ok.md": "---\ntitle: T\ndate: 2026-01-05\n---\n", **files})
    with time_bound(EXAMPLE_SECONDS), pytest.raises(SiteError) as caught:
        build_site(BuildOptions(source=tmp_path, now=NOW, jobs=1, cache=False))
    errors = [str(d) for d in caught.value.diagnostics if d.severity == "error"]
    assert any(e.startswith(expected) for e in errors), errors
    assert all(len(e) < 300 for e in errors)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("/p/{slug}/{x}/", "has {x}: only {slug}, {year}, {month}, {day} can be used here"),
        ("/p/{slug}/{", "is not a valid pattern (Single '{' encountered in format string;"),
        ("/p/{0}/{slug}/", "has {0}: only"),
        ("/p/{slug:>99999999999}/{slug}/", "has {slug:>99999999999}: only"),
        ("/p/{slug.__class__}/{slug}/", "has {slug.__class__}: only"),
        ("//{slug}/", "must not contain '..', '.' or '//'"),
    ],
)
def test_a_permalink_pattern_that_cannot_be_filled_is_an_error(tmp_path: Path, pattern: str, message: str) -> None:
    """str.format raised KeyError, ValueError or MemoryError from inside the build."""
    make_site(
        tmp_path,
        {
            "site.yaml": f"permalinks: {{post: '{pattern}'}}\nbase_url: https://example.org/\n",
            "content/a.md": "---\ntitle: T\ndate: 2026-01-05\n---\n",
        },
    )
    with pytest.raises(SiteError) as caught:
        build_site(BuildOptions(source=tmp_path, now=NOW, jobs=1, cache=False))
    [error] = [str(d) for d in caught.value.diagnostics]
    assert error.startswith(f"site.yaml:1: error: permalinks: post: {pattern!r} {message}")
