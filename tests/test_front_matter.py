"""Front matter, series files and site.yaml are read as written: YAML neither retypes nor silently changes text.

A value documented as text comes back exactly as the author wrote it, or the build stops at its line saying why
(a double-quoted escape that would change TeX, a `#1` that YAML would take for a comment). Dates are checked by
primer-site, and a bad one is explained ("February has no day 30").
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fixture_sites import NOW, build, make_site, post, run_cli
from primer_site.commands.build import BuildOptions, build_site
from primer_site.errors import Problems, SiteError
from primer_site.sources.config import load_config
from primer_site.sources.dates import explain_date_text, parse_date_text
from primer_site.sources.parse import parse_document
from primer_site.sources.seriesfile import parse_series_file

KEEP_BACKSLASHES = "write the value in single quotes or as a block scalar (|), which keep every backslash"


def errors_of(site: Path) -> list[str]:
    with pytest.raises(SiteError) as caught:
        build(site)
    return [str(d) for d in caught.value.diagnostics if d.severity == "error"]


def page(out: Path, url: str) -> str:
    return (out / url.strip("/") / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- YAML 1.1's types are not applied to text


def test_dotted_chapters_keep_their_digits_and_sort_naturally(tmp_path: Path) -> None:
    """`chapter: 1.10` was the float 1.1 and sorted before 1.2; `010` was octal 8."""
    make_site(
        tmp_path,
        {
            "content/a.md": post("Ten", series="s", chapter="1.10"),
            "content/b.md": post("Two", series="s", chapter="1.2"),
            "content/c.md": post("Nine", series="s", chapter="1.9"),
            "content/d.md": post("Eight", series="t", chapter="010"),
        },
    )
    out = build(tmp_path)
    listing = page(out, "series/s")
    assert listing.index("Two") < listing.index("Nine") < listing.index("Ten")
    assert "Section 1.10" in page(out, "posts/a")
    assert "Chapter 010" in page(out, "posts/d") and "Chapter 8" not in page(out, "posts/d")


def test_post_text_keys_that_look_like_numbers_booleans_or_dates(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": "---\ntitle: 2.10\ndate: 2026-01-05\nsummary: on\ndescription: 0x1F\n"
            "tags: [yes, no, 1_000]\ncategory: 2026-01-01\nslug: 007\n---\nBody.\n",
        },
    )
    out = build(tmp_path)
    html = page(out, "posts/007")
    assert '<h1 class="post-title">2.10</h1>' in html
    assert '<meta name="description" content="0x1F">' in html
    for slug, tag in (("yes", "yes"), ("no", "no"), ("1-000", "1_000")):
        assert f'<a href="/tags/{slug}/">{tag}</a>' in html
    assert (out / "categories/2026-01-01/index.html").is_file()
    assert '<p class="entry-summary">on</p>' in page(out, "")


def test_series_file_and_site_yaml_text_keys(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "site.yaml": "title: 1984\ndescription: yes\nauthor: 3.10\nlanguage: no\n"
            "menu: [{name: 2024, url: /series/}]\nmacros:\n  on: \\mathrm{on}\n  \\half: 0.50\n"
            "base_url: https://example.org/\n",
            "series/s.md": "---\ntitle: 2.10\ncollection: 2024\n---\nAbout.\n",
            "series/2024.md": "---\ntitle: Shelf\nkind: collection\n---\n",
            "content/a.md": post("A", series="s", chapter=1, body="$\\half$"),
        },
    )
    out = build(tmp_path)
    html = page(out, "posts/a")
    assert "<title>A · 1984</title>" in html and '<html lang="no">' in html
    assert '<li><a href="/series/">2024</a></li>' in html
    assert "<p>1984 · 3.10</p>" in html
    assert '<a href="/series/s/" data-pagefind-meta="series">2.10</a>' in html
    assert "&#34;\\\\on&#34;: &#34;\\\\mathrm{on}&#34;" in html and "&#34;\\\\half&#34;: &#34;0.50&#34;" in html
    assert '<meta name="description" content="yes">' in page(out, "")


def test_top_level_keys_are_names_not_booleans(tmp_path: Path) -> None:
    make_site(
        tmp_path, {"content/a.md": post("A", on="x"), "site.yaml": "title: S\nyes: 1\nbase_url: https://example.org/\n"}
    )
    result = build_site(BuildOptions(source=tmp_path, output=tmp_path / "public", now=NOW, jobs=1, cache=False))
    assert sorted(str(w) for w in result.warnings) == [
        "content/a.md:4: warning: unknown key 'on'",
        "site.yaml:2: warning: unknown key 'yes'",
    ]


def test_null_still_means_no_value(tmp_path: Path) -> None:
    """`~`, null and an empty value mean "no value" in every YAML version: left as YAML reads them."""
    make_site(tmp_path, {"content/a.md": "---\ntitle: ~\ndate: 2026-01-05\n---\n"})
    assert errors_of(tmp_path) == [
        "content/a.md:2: error: title: has no value (YAML reads nothing, ~ and null as none): write one, in single "
        "quotes if it is the word null"
    ]


# ---------------------------------------------------------------- double-quoted escapes never change TeX silently

# (escape as written in the file, what YAML makes of it, the TeX word it starts)
REFUSED = [
    ("\\t", "a TAB", "\\times"), ("\\n", "a line break", "\\nabla"), ("\\b", "a backspace", "\\beta"),
    ("\\a", "a bell character (BEL)", "\\alpha"), ("\\f", "a form feed", "\\frac"),
    ("\\r", "a carriage return", "\\rho"), ("\\v", "a vertical tab", "\\varphi"),
    ("\\e", "an escape character (ESC)", "\\epsilon"), ("\\0", "a NUL character", "\\0"),
    ("\\N", "a next-line character (U+0085)", "\\Nu"), ("\\L", "a line separator (U+2028)", "\\Lambda"),
    ("\\P", "a paragraph separator (U+2029)", "\\Phi"), ("\\_", "a no-break space (U+00A0)", "\\_"),
    ("\\ ", "a space", "\\ "), ("\\/", "a slash", "\\/"),
]  # fmt: skip


@pytest.mark.parametrize(("escape", "meaning", "word"), REFUSED, ids=[w for _, _, w in REFUSED])
def test_an_escape_that_would_change_tex_is_refused_at_its_column(
    tmp_path: Path, escape: str, meaning: str, word: str
) -> None:
    value = f"x ${word}{'y' if word == escape else ''}$"
    make_site(tmp_path, {"content/a.md": f'---\ndate: 2026-01-05\ntitle: "{value}"\n---\n'})
    assert errors_of(tmp_path) == [
        f'content/a.md:3:12: error: title: in double quotes YAML reads "{escape}" as {meaning}, '
        f'so "{word}" would not stay as written: {KEEP_BACKSLASHES}'
    ]


def test_the_issue_examples(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": '---\ntitle: "Bound $\\times 2$ ok"\ndate: 2026-01-05\nsummary: "Uses $\\nabla f$."\n---\n',
            "content/b.md": '---\ntitle: "The $\\beta$ trick"\ndate: 2026-01-05\n---\n',
        },
    )
    assert errors_of(tmp_path) == [
        'content/a.md:2:16: error: title: in double quotes YAML reads "\\t" as a TAB, so "\\times" would not stay '
        f"as written: {KEEP_BACKSLASHES}",
        'content/a.md:4:17: error: summary: in double quotes YAML reads "\\n" as a line break, so "\\nabla" would '
        f"not stay as written: {KEEP_BACKSLASHES}",
        'content/b.md:2:14: error: title: in double quotes YAML reads "\\b" as a backspace, so "\\beta" would not '
        f"stay as written: {KEEP_BACKSLASHES}",
    ]


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("$\\mathbb{E}$", '"\\m" (of "\\mathbb")'),
        ("$\\xi$", '"\\x" (of "\\xi")'),
        ("$\\upsilon$", '"\\u" (of "\\upsilon")'),
        ("$\\Uparrow$", '"\\U" (of "\\Uparrow")'),
        ("$\\{x\\}$", '"\\{"'),
    ],
)
def test_a_backslash_that_is_no_yaml_escape_names_it(tmp_path: Path, value: str, named: str) -> None:
    make_site(tmp_path, {"content/a.md": f'---\ndate: 2026-01-05\ntitle: "A {value}"\n---\n'})
    assert errors_of(tmp_path) == [
        f"content/a.md:3:12: error: title: in double quotes YAML reads a backslash as an escape, and {named} is "
        f"none: {KEEP_BACKSLASHES}"
    ]


def test_escapes_that_ask_for_a_backslash_a_quote_or_a_code_point_are_kept(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": '---\ntitle: "$\\\\times$ \\"q\\" caf\\u00e9 \\x41 \\U0001D53C"\ndate: 2026-01-05\n---\n',
            "content/b.md": "---\ntitle: '$\\times$ and $\\nabla$'\ndate: 2026-01-05\n---\n",
            "content/c.md": '---\ntitle: |\n  $\\beta$ "x"\ndate: 2026-01-05\n---\n',
        },
    )
    out = build(tmp_path)
    assert '<meta property="og:title" content="\\times &#34;q&#34; café A 𝔼">' in page(out, "posts/a")
    assert '<meta property="og:title" content="\\times and \\nabla">' in page(out, "posts/b")
    assert '<meta property="og:title" content="\\beta &#34;x&#34;">' in page(out, "posts/c")


def test_every_text_value_is_checked_series_site_macros_menu_tags(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "site.yaml": 'title: "S"\ndescription: "On $\\theta$"\nmenu:\n  - {name: "\\tab", url: /x/}\n'
            'macros:\n  "\\alpha": \\mathbb{R}\n  \\E: "\\tilde{E}"\n',
            "series/s.md": '---\ntitle: "The $\\nu$ volume"\n---\n',
            "content/a.md": '---\ntitle: A\ndate: 2026-01-05\ntags:\n  - ok\n  - "\\vec"\n---\n',
        },
    )
    changed = "would not stay as written: " + KEEP_BACKSLASHES
    assert errors_of(tmp_path) == [
        f'content/a.md:6:6: error: tags: in double quotes YAML reads "\\v" as a vertical tab, so "\\vec" {changed}',
        f'series/s.md:2:14: error: title: in double quotes YAML reads "\\n" as a line break, so "\\nu" {changed}',
        f'site.yaml:2:19: error: description: in double quotes YAML reads "\\t" as a TAB, so "\\theta" {changed}',
        f'site.yaml:4:13: error: menu: name: in double quotes YAML reads "\\t" as a TAB, so "\\tab" {changed}',
        'site.yaml:6:4: error: macros: in double quotes YAML reads "\\a" as a bell character (BEL), so "\\alpha" '
        + changed,
        f'site.yaml:7:8: error: macros: \\E: in double quotes YAML reads "\\t" as a TAB, so "\\tilde" {changed}',
    ]


def test_a_macro_whose_tex_yaml_cannot_read_in_double_quotes(tmp_path: Path) -> None:
    make_site(tmp_path, {"site.yaml": 'title: S\nmacros:\n  \\R: "\\mathbb{R}"\n', "content/a.md": post("A")})
    assert errors_of(tmp_path) == [
        'site.yaml:3:8: error: macros: in double quotes YAML reads a backslash as an escape, and "\\m" (of '
        f'"\\mathbb") is none: {KEEP_BACKSLASHES}'
    ]


def test_an_escape_on_a_later_line_of_a_value_is_located_there(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": '---\ndate: 2026-01-05\nsummary: "First line,\n  then $\\tau$."\n---\n'})
    assert errors_of(tmp_path) == [
        'content/a.md:4:9: error: summary: in double quotes YAML reads "\\t" as a TAB, so "\\tau" would not stay '
        f"as written: {KEEP_BACKSLASHES}"
    ]


def test_a_line_joined_with_a_backslash_is_refused(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": '---\ndate: 2026-01-05\ntitle: "$a\\\n  b$"\n---\n'})
    assert errors_of(tmp_path) == [
        'content/a.md:3:11: error: title: in double quotes YAML reads a "\\" at the end of a line as joining the '
        f"lines, so the backslash would not stay as written: {KEEP_BACKSLASHES}"
    ]


def test_a_long_value_folded_by_pyyaml_is_read_as_written(tmp_path: Path) -> None:
    """PyYAML's dumper folds a long double-quoted value with a "\\" at each line's end and a "\\ " opening the
    next line (lil-log's 2017-06-21-an-overview-of-deep-learning.md:7:85 was refused so): YAML's folding, no TeX
    changed, so the value is read as the text it was dumped from."""
    import yaml

    summary = (
        "Starting earlier this year, I grew a strong curiosity of deep learning and spent some time reading about "
        "this field, with $p(x) = \\sum_i w_i$ in view. To document what I have learned and to provide interesting "
        "pointers to people with similar interests, I wrote this overview."
    )
    dumped = yaml.dump({"summary": summary}, default_style='"', width=80)
    assert dumped.count("\\\n") >= 3 and "\n  \\ " in dumped  # the form PyYAML writes
    make_site(tmp_path, {"content/a.md": f"---\ntitle: A\ndate: 2026-01-05\n{dumped}---\nBody.\n"})
    problems = Problems()
    document = parse_document(tmp_path, "content/a.md", ZoneInfo("UTC"), problems)
    assert problems.errors == [] and document is not None
    assert document.summary == summary


def test_dates_and_extra_keep_yaml_escapes(tmp_path: Path) -> None:
    """Only text that may hold TeX is checked: extra is the author's own typed data."""
    make_site(tmp_path, {"content/a.md": '---\ntitle: A\ndate: "2026-01-05"\nextra: {tab: "a\\tb", n: 1.10}\n---\n'})
    build(tmp_path)


# ---------------------------------------------------------------- a # and a digit is text, not a comment


def test_a_tex_parameter_is_not_taken_for_a_comment(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "series/s.md": "---\ntitle: S\nmacros:\n  \\norm: \\left\\lVert #1 \\right\\rVert\n---\n",
            "content/a.md": "---\ntitle: Fixing issue #12\ndate: 2026-01-05\n---\n",
        },
    )
    assert errors_of(tmp_path) == [
        'content/a.md:2:21: error: title: "#12" after a space starts a YAML comment, so the value would end at '
        "\"Fixing issue\": put the value in single quotes: title: 'Fixing issue #12'",
        'series/s.md:4:22: error: macros: \\norm: "#1" after a space starts a YAML comment, so the value would end '
        "at \"\\left\\lVert\": put the value in single quotes: \\norm: '\\left\\lVert #1 \\right\\rVert'",
    ]


def test_a_word_glued_to_a_hash_is_text_cut_by_a_comment(tmp_path: Path) -> None:
    """`#importance` after a space is a YAML comment: the words the author meant would be lost without a word."""
    make_site(
        tmp_path,
        {
            "content/a.md": "---\ntitle: A\ndate: 2026-01-05\nsummary: Why entropy matters #importance\n---\n",
            "content/b.md": "---\ntitle: B\ndate: 2026-01-05\ntags:\n  - C #sharp  \n---\n",
        },
    )
    assert errors_of(tmp_path) == [
        'content/a.md:4:30: error: summary: "#importance" after a space starts a YAML comment, so the value would '
        "end at \"Why entropy matters\": put the value in single quotes: summary: 'Why entropy matters #importance'",
        'content/b.md:5:7: error: tags: "#sharp" after a space starts a YAML comment, so the value would end at '
        "\"C\": put the value in single quotes: - 'C #sharp'",
    ]


def test_the_quoted_line_a_comment_error_gives_reads_back_as_meant(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/a.md": "---\ntitle: It's #1 and #two\ndate: 2026-01-05\n---\n"})
    [error] = errors_of(site)
    fixed = error.split("put the value in single quotes: ", 1)[1]
    assert fixed == "title: 'It''s #1 and #two'"
    make_site(site, {"content/a.md": f"---\n{fixed}\ndate: 2026-01-05\n---\n"})
    assert "<title>It&#39;s #1 and #two" in page(build(site), "posts/a")


def test_a_comma_separated_tags_string_is_an_error_showing_the_list(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": "---\ntitle: A\ndate: 2026-01-05\ntags: entropy, probability\n---\n",
            "content/b.md": "---\ntitle: B\ndate: 2026-01-05\ntags: C++, C#,  it's, a: b\n---\n",
            "content/c.md": "---\ntitle: C\ndate: 2026-01-05\ntags: entropy\n---\n",  # one tag: fine
        },
    )
    assert errors_of(tmp_path) == [
        'content/a.md:4: error: tags: "entropy, probability" is one tag, with a comma: a list of tags is written in '
        "brackets: tags: [entropy, probability]",
        'content/b.md:4: error: YAML syntax: mapping values are not allowed in this context: a value holding ": " '
        'must be quoted: tags: "C++, C#,  it\'s, a: b"',
    ]
    make_site(tmp_path, {"content/b.md": "---\ntitle: B\ndate: 2026-01-05\ntags: 'C++, C#, it''s, x'\n---\n"})
    fixed = errors_of(tmp_path)[1].split("tags: [", 1)[1]
    assert fixed == "C++, 'C#', it's, x]"
    make_site(tmp_path, {"content/b.md": f"---\ntitle: B\ndate: 2026-01-05\ntags: [{fixed}\n---\n"})
    make_site(tmp_path, {"content/a.md": "---\ntitle: A\ndate: 2026-01-05\ntags: [entropy, probability]\n---\n"})
    assert "/tags/probability/" in page(build(tmp_path), "posts/a")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("title: null", "title: has no value"),
        ("title: ~", "title: has no value"),
        ("title:", "title: has no value"),
        ("title: NULL", "title: has no value"),
    ],
)
def test_a_null_title_says_it_has_no_value(tmp_path: Path, written: str, message: str) -> None:
    make_site(tmp_path, {"content/a.md": f"---\n{written}\ndate: 2026-01-05\n---\n"})
    assert errors_of(tmp_path) == [
        f"content/a.md:2: error: {message} (YAML reads nothing, ~ and null as none): write one, in single quotes if "
        "it is the word null"
    ]


def test_comments_after_values_are_still_comments(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": "---\ntitle: Kept   # a comment\ndate: 2026-01-05  # and another\n---\n"})
    assert '<h1 class="post-title">Kept</h1>' in page(build(tmp_path), "posts/a")


# ---------------------------------------------------------------- dates: what is wrong with a bad one

BAD_DATES = [
    ("2024-02-30", "February has no day 30"),
    ("2023-02-29", "February 2023 has no day 29 (2023 is not a leap year)"),
    ("2024-04-31", "April has no day 31"),
    ("2024-13-01", "there is no month 13"),
    ("2024-00-10", "there is no month 00"),
    ("2024-01-00", "January has no day 00"),
    ("0000-01-01", "there is no year 0000 (years go from 0001 to 9999)"),
    ("2024-2-3", "write the month and the day with two digits: 2024-02-03"),
    ("2024-02-03T25:00:00", "there is no hour 25 (from 00 to 23)"),
    ("2024-02-03T24:00:00Z", "there is no hour 24 (from 00 to 23)"),
    ("2024-02-03T10:61:00", "there is no minute 61 (from 00 to 59)"),
    ("2024-02-03T10:00:60", "there is no second 60 (from 00 to 59)"),
    ("2024-02-03T9:00", "write hours, minutes and seconds with two digits: 09:00"),
    ("2024-02-03T10:00:00+25:00", "+25:00 is not a UTC offset (they go from -23:59 to +23:59)"),
    ("2024-02-03T10:00:00+01:60", "+01:60 is not a UTC offset (they go from -23:59 to +23:59)"),
    ("2024-02-03T10:00:00+1", "write the offset's hours with two digits: +01:00"),
    ("2024-02-03 noon", "'noon' after the date is not a time (expected YYYY-MM-DD or an ISO datetime such as "
     "2026-03-12T09:00:00+01:00)"),
    ("03/02/2024", "expected YYYY-MM-DD or an ISO datetime such as 2026-03-12T09:00:00+01:00"),
    ("tomorrow", "expected YYYY-MM-DD or an ISO datetime such as 2026-03-12T09:00:00+01:00"),
]  # fmt: skip


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
@pytest.mark.parametrize(("written", "problem"), BAD_DATES, ids=[w for w, _ in BAD_DATES])
def test_a_bad_date_says_what_is_wrong(tmp_path: Path, written: str, problem: str, quoted: bool) -> None:
    value = f'"{written}"' if quoted else written
    make_site(tmp_path, {"content/a.md": f"---\ntitle: A\ndate: 2026-01-05\nupdated: {value}\n---\n"})
    assert errors_of(tmp_path) == [f'content/a.md:4: error: updated: "{written}" is not a date: {problem}']


def test_a_date_that_is_no_text_at_all(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": "---\ntitle: A\ndate: [2026, 1, 5]\n---\n"})
    assert errors_of(tmp_path) == [
        "content/a.md:3: error: date: [2026, 1, 5] is not a date "
        "(expected YYYY-MM-DD or an ISO datetime such as 2026-03-12T09:00:00+01:00)"
    ]


GOOD_DATES = [
    ("2026-03-12", "2026-03-12T00:00:00+01:00"),  # the site's time zone: Europe/Paris, winter
    ("2026-07-12T09:30", "2026-07-12T09:30:00+02:00"),
    ("2026-03-12T09:00:00Z", "2026-03-12T09:00:00+00:00"),
    ("2026-03-12t09:00:00z", "2026-03-12T09:00:00+00:00"),
    ("2026-03-12T09:00:00+05:30", "2026-03-12T09:00:00+05:30"),
    ("2026-03-12T09:00:00-0330", "2026-03-12T09:00:00-03:30"),
    ("2026-03-12 09:00:00 +01:00", "2026-03-12T09:00:00+01:00"),
    ("2026-03-12T09:00:00.25+01:00", "2026-03-12T09:00:00.250000+01:00"),
    ("2024-02-29", "2024-02-29T00:00:00+01:00"),
]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
@pytest.mark.parametrize(("written", "instant"), GOOD_DATES, ids=[w for w, _ in GOOD_DATES])
def test_dates_plain_or_quoted_mean_the_same_instant(tmp_path: Path, written: str, instant: str, quoted: bool) -> None:
    value = f"'{written}'" if quoted else written
    make_site(tmp_path, {"content/a.md": f"---\ntitle: A\ndate: {value}\n---\n"})
    problems = Problems()
    document = parse_document(tmp_path, "content/a.md", ZoneInfo("Europe/Paris"), problems)
    assert problems.items == [] and document is not None
    assert document.date.isoformat() == instant


def _joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


# Mostly good fields, with the edges and faults of each: both readers must meet every one.
date_texts = _joined(
    st.sampled_from(["2024", "2023", "2026", "2000", "1900", "0001", "9999", "0000"]), st.just("-"),
    st.sampled_from(["01", "02", "04", "09", "10", "12", "00", "13", "1", "2"]), st.just("-"),
    st.sampled_from(["01", "09", "10", "28", "29", "30", "31", "32", "00", "1", "9"]),
    st.one_of(
        st.just(""),
        _joined(
            st.sampled_from(["T", "t", " ", "  "]), st.sampled_from(["00", "09", "12", "23", "24", "25", "9"]),
            st.just(":"), st.sampled_from(["00", "30", "59", "60", "7"]),
            st.sampled_from(["", ":00", ":59", ":60", ":7", ":30.5", ":30.1234567"]),
            st.sampled_from(["", "Z", "z", " Z", "+01:00", "-0330", "+05", "+1", "+24:00", "+23:59", "+01:60",
                             " -12:00", "-00:00"]),
        ),
    ),
)  # fmt: skip


@settings(max_examples=500, deadline=None, derandomize=True)
@given(date_texts)
def test_the_quick_date_reader_agrees_with_the_explaining_one(text: str) -> None:
    """parse_date_text reads the usual spellings itself and leaves the rest to explain_date_text."""

    def outcome(read: Callable[[str], datetime]) -> object:
        try:
            when = read(text)
        except ValueError as error:
            return str(error)
        return when, when.utcoffset()

    assert outcome(parse_date_text) == outcome(explain_date_text)


# ---------------------------------------------------------------- the property: as written, or a located error


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A folder the property's examples are written into, one after another."""
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _read_post(folder: Path, front: str) -> tuple[object, list[str]]:
    (folder / "content").mkdir(exist_ok=True)
    (folder / "content/p.md").write_text(f"---\n{front}---\nBody.\n", encoding="utf-8")
    problems = Problems()
    document = parse_document(folder, "content/p.md", ZoneInfo("UTC"), problems)
    return document, [str(d) for d in problems.errors]


def _read_series(folder: Path, front: str) -> tuple[object, list[str]]:
    (folder / "series").mkdir(exist_ok=True)
    (folder / "series/s.md").write_text(f"---\n{front}---\n", encoding="utf-8")
    problems = Problems()
    return parse_series_file(folder, "series/s.md", problems), [str(d) for d in problems.errors]


def _read_site(folder: Path, text: str) -> tuple[object, list[str]]:
    # a site needs its base_url: written last, so that the value's line stays where the place says
    (folder / "site.yaml").write_text(text.rstrip("\n") + "\nbase_url: https://example.org/\n", encoding="utf-8")
    problems = Problems()
    return load_config(folder, problems), [str(d) for d in problems.errors]


@dataclass(frozen=True)
class Place:
    """A text key somewhere: how to write a file holding VALUE there, read it back, and find the value."""

    name: str
    template: str  # with {value}; the value sits on `line`
    line: int
    key_line: int  # the top-level key holding it (a nested value's type errors are reported there)
    read: Callable[[Path, str], tuple[object, list[str]]]
    value_of: Callable[[object], object]
    stripped: bool  # post keys are stripped of surrounding spaces; site.yaml's and macros are taken as they are


PLACES = [
    Place("post title", "title: {value}\ndate: 2026-01-05\n", 2, 2, _read_post, lambda d: d.title, True),
    Place("post summary", "title: T\ndate: 2026-01-05\nsummary: {value}\n", 4, 4, _read_post, lambda d: d.summary, True),
    Place("post description", "title: T\ndate: 2026-01-05\ndescription: {value}\n", 4, 4, _read_post,
          lambda d: d.description, True),
    Place("post tag", "title: T\ndate: 2026-01-05\ntags:\n  - {value}\n", 5, 4, _read_post,
          lambda d: d.tags[0] if d.tags else None, True),
    Place("series title", "title: {value}\n", 2, 2, _read_series, lambda s: s.title, True),
    Place("series macro", "title: S\nmacros:\n  \\E: {value}\n", 4, 3, _read_series,
          lambda s: dict(s.macros).get("\\E"), False),
    Place("site title", "title: {value}\n", 1, 1, _read_site, lambda c: c.title, False),
    Place("site author", "title: S\nauthor: {value}\n", 2, 2, _read_site, lambda c: c.author, False),
    Place("site menu name", "menu:\n  - name: {value}\n    url: /x/\n", 2, 1, _read_site,
          lambda c: c.menu[0][0] if c.menu else None, False),
]  # fmt: skip

# Text an author might write, rich in what YAML 1.1 retypes and in TeX whose backslashes YAML escapes.
SEEDS = [
    "1.10", "010", "2.10", "yes", "no", "on", "off", "y", "~", "null", "1e3", ".inf", "-.5", "0x1F", "0o17", "1:20",
    "1_000", "2026-01-05", "2026-01-05T10:00:00Z", "<<", "=", "$\\times 2$", "$\\nabla f$", "\\beta", "\\mathbb{E}",
    "\\xi", "\\alpha", "\\frac{a}{b}", "\\\\", "a\\ b", "\\_", "\\u00e9", "\\x41", "\\x4", "#1", " #1", " #", "#",
    "Café", "数学", "'", "''", "\"", ": ", ":", "- ", "[a]", "{b}", "!", "&a", "*a", "%", "@", "`", "|", ">", "?",
    ",", "\\{", "\t", "  ",
]  # fmt: skip
ALPHABET = "abcxyzEKLNPRUtnbefrv0123456789 .,;:+-=/()[]{}$^_\\'\"#!&*%@`|>?~<é数"
texts = st.lists(st.one_of(st.sampled_from(SEEDS), st.text(ALPHABET, max_size=4)), max_size=6).map("".join)
NULLS = {"", "~", "null", "Null", "NULL"}
_HEX = {"x": 2, "u": 4, "U": 8}
_KEPT = {"\\": "\\", '"': '"'}


def meant_by_double_quotes(written: str) -> tuple[str | None, set[str]]:
    """(the value, no escapes) if every escape in `written` is one the rule keeps (\\\\, \\", \\xHH, \\uHHHH,
    \\UHHHHHHHH), else (None, the other escapes, any of which may be named): an independent reading of the rule."""
    value, refused, index = [], set(), 0
    while index < len(written):
        char = written[index]
        if char != "\\":
            value.append(char)
            index += 1
            continue
        after = written[index + 1 : index + 2]
        digits = written[index + 2 : index + 2 + _HEX.get(after, 0)]
        if after in _KEPT:
            value.append(_KEPT[after])
        elif after in _HEX and re.fullmatch(f"[0-9A-Fa-f]{{{_HEX[after]}}}", digits):
            value.append(chr(int(digits, 16)))
            index += len(digits)
        else:
            refused.add("\\" + after)
        index += 2
    return (None, refused) if refused else ("".join(value), refused)


def written_as(style: str, text: str) -> tuple[str, str | None, set[str]]:
    """(the YAML for `text` in `style`, the value it must give or None, the escapes or comments one of which must
    be named in an error)."""
    if style == "plain":
        return text, text, set(re.findall(r"[ \t](#\d+)", text))
    if style == "single":
        return "'" + text.replace("'", "''") + "'", text, set()
    if style == "double, escaped":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"', text, set()
    if style == "double, as typed":  # a TeX author who did not escape the backslashes
        value, refused = meant_by_double_quotes(text)
        return f'"{text}"', value, refused
    return "|-\n      " + text, text, set()  # a literal block scalar, on the line after its key


def plain_is_yaml_syntax(text: str) -> bool:
    """A plain scalar whose look is YAML syntax the author sees: a leading indicator or quote (a tag, an anchor,
    a quoted scalar), a comment, or surrounding spaces; such text is not written plain."""
    return (
        text != text.strip() or text[:1] in set("!&'\"#|>%@`") or bool(re.search(r"[ \t]#(?!\d)", text)) or "\t" in text
    )


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    place=st.sampled_from(PLACES),
    style=st.sampled_from(["plain", "single", "double, escaped", "double, as typed", "block"]),
    text=texts,
)
def test_text_comes_back_as_written_or_fails_at_its_line(scratch: Path, place: Place, style: str, text: str) -> None:
    if style == "plain":
        assume(not plain_is_yaml_syntax(text))
    if style == "double, as typed":
        assume('"' not in text and not text.endswith("\\"))  # an author's own unclosed quote
    if style == "block":
        assume("\t" not in text and text == text.lstrip())
    yaml_value, expected, to_name = written_as(style, text)
    if expected is not None and place.stripped:
        expected = expected.strip()
    read, errors = place.read(scratch, place.template.format(value=yaml_value))
    value = place.value_of(read) if read is not None else None
    lines = {place.line, place.line + (style == "block"), place.key_line}
    end = place.line + (style == "block") + 1  # a `[` left open is noticed where the front matter ends
    if to_name:
        assert errors, f"{yaml_value!r} in {place.name} became {value!r} without an error naming one of {to_name}"
        named = any(f'"{name}"' in e and _lines(e) & lines for e in errors for name in to_name)
        # a YAML syntax error comes first; a plain `1.10: #1` is a mapping, refused as such at its line
        other = ": error: YAML syntax: " if style != "plain" else ": error: "
        assert named or all(other in e and _lines(e) & lines for e in errors), errors
    elif errors:
        assert all(_lines(e) & lines or (_lines(e) & {end} and ": error: YAML syntax: " in e) for e in errors), (
            f"{yaml_value!r} in {place.name}: errors not at its line: {errors}"
        )
    else:
        absent = (style == "plain" and text in NULLS) or expected in ("", None)
        assert value == expected or (absent and value in (None, "")), (
            f"{yaml_value!r} in {place.name} was read as {value!r}, not {expected!r}"
        )


def _lines(diagnostic: str) -> set[int]:
    """The lines an error names: where it is, and where YAML says the construct it could not finish started."""
    found = {int(n) for n in re.findall(r"started on line (\d+)\)$", diagnostic)}
    match = re.match(r"[^:]+:(\d+)", diagnostic)
    return found | {int(match.group(1))} if match else found


# ---------------------------------------------------------------- YAML types: only what JSON has, and dates

TYPES_SAID = "values are text, numbers, true or false, null, dates and datetimes, lists and mappings (remove the tag)"


def _type_error(where: str, line: int, column: int, key: str, tag: str) -> str:
    return f"{where}:{line}:{column}: error: {key}: YAML's {tag} is not a type primer-site reads: {TYPES_SAID}"


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1, b: 2]", "!!omap"),
        ("!!pairs [a: 1, a: 2]", "!!pairs"),
        ("!local x", "!local"),
        ("!!python/tuple [1, 2]", "!!python/tuple"),
        ("!!python/name:os.system", "!!python/name:os.system"),
    ],
)
def test_a_yaml_type_no_page_can_hold_is_an_error_at_its_line(tmp_path: Path, value: str, tag: str) -> None:
    """Built as an author builds, with the caches on: a `!!binary` once crashed the cached build's fingerprints."""
    make_site(tmp_path, {"content/a.md": f"---\ntitle: A\ndate: 2026-01-05\nextra:\n  blob: {value}\n---\nHi.\n"})
    result = run_cli("build", "-s", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == _type_error("content/a.md", 5, 9, "extra: blob", tag)
    assert not (tmp_path / "public").exists()


def test_every_odd_type_in_every_yaml_file_is_reported_in_one_run(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "site.yaml": "title: S\nbase_url: https://example.org/\nextra_css: !!set {a.css}\n",
            "series/s.md": "---\ntitle: S\nmacros:\n  \\b: !!binary aGk=\n---\n",
            "content/a.md": "---\ntitle: A\ndate: 2026-01-05\ntags: [ok, !!binary aGk=]\nextra:\n"
            "  ? !!binary aGk=\n  : key\n  list: [1, &odd !!set {x}, *odd]\n---\nHi.\n",
        },
    )
    assert errors_of(tmp_path) == [
        _type_error("content/a.md", 4, 12, "tags", "!!binary"),
        _type_error("content/a.md", 6, 5, "extra: aGk=", "!!binary"),
        _type_error("content/a.md", 8, 13, "extra: list", "!!set"),  # once, though an alias repeats it
        _type_error("series/s.md", 4, 7, "macros: \\b", "!!binary"),
        _type_error("site.yaml", 3, 12, "extra_css", "!!set"),
    ]


def test_every_plain_yaml_type_builds_and_builds_again_from_the_cache(tmp_path: Path) -> None:
    """Text, numbers, booleans, null, dates, datetimes, lists, mappings, merge keys and YAML 1.1's "=" (text)."""
    extra = (
        "extra:\n  defaults: &d {n: 1, f: 2.5, big: 1e400, yes: true, none: ~}\n  merged:\n    <<: *d\n    n: 2\n"
        "  when: 2026-01-05\n  at: 2026-01-05T10:00:00+01:00\n  list: [a, [b, {c: d}]]\n  eq: =\n  str: !!str 3\n"
    )
    make_site(tmp_path, {"content/a.md": f"---\ntitle: A\ndate: 2026-01-05\n{extra}---\nHi.\n"})
    for _ in range(2):  # the second build reads the document cache and the last build's fingerprints
        result = run_cli("build", "-s", str(tmp_path))
        assert result.returncode == 0, result.stderr
    assert "Hi." in (tmp_path / "public/posts/a/index.html").read_text(encoding="utf-8")


def test_a_value_fingerprints_cannot_spell_is_never_a_crash_and_never_equal() -> None:
    """The backstop behind yamldoc's check: bytes have a fingerprint; an unknown type is always "changed"."""
    from primer_site.caches.fingerprints import fingerprint

    assert fingerprint({"blob": b"hi"}, {}) == fingerprint({"blob": b"hi"}, {}) != fingerprint({"blob": "hi"}, {})
    odd = object()
    assert fingerprint([odd], {}) != fingerprint([odd], {})


# ------------------------------------------------- local times the site's time zone skips or shows twice


def _parsed(tmp_path: Path, date: str, zone: str) -> tuple[datetime | None, list[str]]:
    make_site(tmp_path, {"content/p.md": post("P", date=date)})
    problems = Problems()
    document = parse_document(tmp_path, "content/p.md", ZoneInfo(zone), problems)
    return (document.date if document else None), [str(e) for e in problems.errors]


def test_a_time_the_clocks_skip_is_an_error_naming_the_offset_to_write(tmp_path: Path) -> None:
    when, errors = _parsed(tmp_path, "2026-03-08T02:30:00", "America/New_York")
    assert when is None
    assert errors == [
        "content/p.md:3: error: date: 2026-03-08T02:30:00 does not exist in America/New_York (the clocks are put "
        "forward that day, from UTC-05:00 to UTC-04:00): write the time with its UTC offset, such as "
        "2026-03-08T03:30:00-04:00"
    ]


def test_a_time_that_comes_twice_is_an_error_naming_both_offsets(tmp_path: Path) -> None:
    when, errors = _parsed(tmp_path, "2026-11-01 01:30", "America/New_York")
    assert when is None
    assert errors == [
        "content/p.md:3: error: date: 2026-11-01T01:30:00 comes twice in America/New_York (the clocks are put back "
        "that day): write it with its UTC offset, 2026-11-01T01:30:00-04:00 for the first or "
        "2026-11-01T01:30:00-05:00 for the second"
    ]


def test_the_offset_the_error_suggests_is_accepted(tmp_path: Path) -> None:
    when, errors = _parsed(tmp_path, "2026-03-08T03:30:00-04:00", "America/New_York")
    assert errors == [] and when == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "first_instant"),
    [
        ("America/Santiago", "2026-09-06", "2026-09-06T01:00:00-03:00"),  # 00:00 → 01:00: midnight skipped
        ("America/Havana", "2026-03-08", "2026-03-08T01:00:00-04:00"),  # 00:00 → 01:00
        ("America/Havana", "2026-11-01", "2026-11-01T00:00:00-04:00"),  # 01:00 → 00:00: midnight twice
        ("America/New_York", "2026-03-08", "2026-03-08T00:00:00-05:00"),  # a gap later that night
    ],
)
def test_a_date_without_a_time_is_its_day_s_first_instant(
    tmp_path: Path, zone: str, day: str, first_instant: str
) -> None:
    when, errors = _parsed(tmp_path, day, zone)
    assert errors == [] and when is not None  # compared in UTC: PEP 495 makes a folded time unequal across zones
    assert when.astimezone(UTC) == datetime.fromisoformat(first_instant).astimezone(UTC)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "UTC"]),
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)),
)
def test_a_local_time_is_read_as_the_one_instant_it_names_or_refused(zone: str, moment: datetime) -> None:
    """Property: an accepted local time shows that very wall time in the zone, and no other instant does."""
    from primer_site.sources.dates import in_zone

    moment = moment.replace(microsecond=0)
    place = ZoneInfo(zone)
    try:
        when = in_zone(moment, place)
    except ValueError:
        instants = {moment.replace(tzinfo=place, fold=f).astimezone(UTC) for f in (0, 1)}
        shows = [i for i in instants if i.astimezone(place).replace(tzinfo=None) == moment]
        assert len(shows) != 1  # skipped, or shown twice
        return
    assert when.astimezone(place).replace(tzinfo=None) == moment
    for fold in (0, 1):
        other = moment.replace(tzinfo=place, fold=fold).astimezone(UTC)
        assert other == when.astimezone(UTC) or other.astimezone(place).replace(tzinfo=None) != moment


def test_reading_line_continuations_is_linear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether each "\\" line continuation is inside math is read once per character of the value, however many
    continuations it has (counted, not timed): 10 times the lines, about 10 times the characters read."""
    import primer_site.sources.yamltext as yamltext

    read = [0]
    real = yamltext._MATH_DELIMITER

    class Counting:
        def findall(self, text: str, start: int, end: int) -> list[str]:
            read[0] += end - start
            return real.findall(text, start, end)

    monkeypatch.setattr(yamltext, "_MATH_DELIMITER", Counting())
    work = []
    for lines in (200, 2000):
        read[0] = 0
        value = "\\\n  ".join(f"word $x_{i}$ and" for i in range(lines))
        document, errors = _read_post(tmp_path, f'title: T\ndate: 2026-01-05\nsummary: "{value}"\n')
        assert errors == [] and document.summary.startswith("word $x_0$ andword $x_1$")
        work.append(read[0])
    assert work[1] <= 11 * work[0], work
