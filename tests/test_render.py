"""Rendering: a template that includes or extends one that does not exist is an error at the including line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_sites import REPO, make_site, post, run_cli
from primer_site.commands.build import BuildOptions, build_site


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{% extends 'base.html' %}\n{% block main %}\n<p>Lost</p>\n{% include 'partials/nope.html' %}\n"
            "{% endblock %}\n",
            "templates/404.html:4: error: template not found: partials/nope.html (looked in templates/ and the theme's)",
        ),
        (
            "{# a typo in the parent's name #}\n{% extends 'bsae.html' %}\n",
            "templates/404.html:2: error: template not found: bsae.html (looked in templates/ and the theme's) "
            '(did you mean "base.html"?)',
        ),
        (
            "{% extends 'base.html' %}\n{% block main %}\n{% import 'macros/none.html' as m %}\n{% endblock %}\n",
            "templates/404.html:3: error: template not found: macros/none.html (looked in templates/ and the theme's)",
        ),
        (
            "{% extends 'base.html' %}\n{% block main %}\n\n{% include ['a.html', 'b.html'] %}\n{% endblock %}\n",
            "templates/404.html:4: error: template not found: none of a.html, b.html",
        ),
    ],
    ids=["include", "extends", "import", "include-list"],
)
def test_a_missing_template_is_named_at_the_including_line(tmp_path: Path, template: str, expected: str) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "templates/404.html": template})
    result = run_cli("build", "--source", str(site))
    assert result.returncode == 1
    assert result.stderr == f"{expected}\nbuild failed: 1 error; the output folder was left as it was\n"


def test_a_missing_template_in_a_post_page_names_the_post_it_was_rendering(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site",
        {
            "content/a.md": post("A"),
            "templates/post.html": "{% extends 'base.html' %}\n{% block main %}{% include 'byline.html' %}"
            "{% endblock %}\n",
        },
    )
    result = run_cli("build", "--source", str(site))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "templates/post.html:2: error: template not found: byline.html (looked in templates/ and the theme's) "
        "(while rendering content/a.md)"
    )


def test_a_missing_attribute_names_the_template_line_and_the_model_s_public_name(tmp_path: Path) -> None:
    theme = (REPO / "templates/post.html").read_text(encoding="utf-8")
    site = make_site(
        tmp_path,
        {
            "templates/post.html": theme.replace("{{ post.title | title_html }}</h1>", "{{ post.nosuchattr.x }}</h1>"),
            "content/a.md": post("A"),
        },
    )
    line = 1 + next(n for n, text in enumerate(theme.splitlines()) if "post-title" in text)
    result = run_cli("build", "-s", str(site))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"templates/post.html:{line}: error: template: Post has no attribute 'nosuchattr' (while rendering content/a.md)"
    )


def test_post_extra_is_free_data_templates_read_by_name(tmp_path: Path) -> None:
    """README: `extra:` is free data for your own templates: `post.extra.venue`, nested keys, lists, a missing key."""
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A", extra="{venue: NeurIPS, links: [one, two], at: {city: Paris}}"),
            "templates/post.html": (
                "{% extends 'base.html' %}\n{% block main %}<p id=x>{{ post.extra.venue }}|"
                "{{ post.extra['links'] | join(',') }}|{{ post.extra.at.city }}|{{ post.extra.missing is defined }}|"
                "{{ post.extra | length }}</p>{% endblock %}\n"
            ),
        },
    )
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    page = (site / "public/posts/a/index.html").read_text(encoding="utf-8")
    assert "<p id=x>NeurIPS|one,two|Paris|False|3</p>" in page


def test_a_word_holding_math_in_a_summary_is_not_math(tmp_path: Path) -> None:
    """ "Why aftermath matters" holds the letters of math, not a formula: Post.has_math is found as the pages' math."""
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A", summary="Why aftermath matters", body="No formulas."),
            "content/b.md": post("B", "2026-01-06", summary="Why $x$ matters", body="No formulas."),
            "content/c.md": post("C", "2026-01-07", body='A <span class="mathematics">word</span>, $y$.'),
        },
    )
    result = build_site(BuildOptions(source=site, cache=False, now=datetime(2026, 6, 1)))
    assert result.site is not None
    assert {p.source: p.has_math for p in result.site.posts} == {
        "content/a.md": False,
        "content/b.md": True,
        "content/c.md": True,
    }


def test_a_title_is_read_once_into_its_html_its_text_and_its_formulas() -> None:
    from primer_site.syntax.inline import parse_title, plain_title, render_title, title_has_math

    title = parse_title("Bounds on $\\alpha < 1$ & <b>bold</b> \\(x\\)")
    assert title.html == (
        'Bounds on <span class="math inline">\\alpha &lt; 1</span> &amp; &lt;b&gt;bold&lt;/b&gt; '
        '<span class="math inline">x</span>'
    )
    assert title.text == "Bounds on \\alpha < 1 & <b>bold</b> x"
    assert title.formulas == ("\\alpha < 1", "x")
    text = "Bounds on $\\alpha < 1$ & <b>bold</b> \\(x\\)"
    assert parse_title(text) is title  # rendered once
    assert (render_title(text), plain_title(text), title_has_math(text)) == (title.html, title.text, True)


@settings(max_examples=200)
@given(st.text(alphabet="ab $\\()<&*_`[]", max_size=30))
def test_a_title_s_html_and_text_say_the_same(text: str) -> None:
    """Whatever the title, its HTML less its tags is its text: the two are made by one reading (parse_title)."""
    import html as html_module
    import re

    from primer_site.syntax.inline import parse_title

    title = parse_title(text)
    assert html_module.unescape(re.sub(r"<[^>]+>", "", title.html)) == title.text


def test_a_change_to_post_extra_renders_the_page_that_reads_it_again(tmp_path: Path) -> None:
    """A template's read of post.extra is a recorded dependency, by value: an edit reaches the page in a warm
    rebuild, and an unrelated edit leaves it alone."""
    from primer_site.commands.build import BuildMemory

    template = (
        "{% extends 'base.html' %}{% block main %}<p id=x>{{ post.extra.venue | default('') }}</p>{% endblock %}\n"
    )
    site = make_site(
        tmp_path,
        {"content/a.md": post("A", extra="{venue: Paris}"), "content/b.md": post("B"), "templates/post.html": template},
    )
    memory = BuildMemory()
    options = BuildOptions(source=site, jobs=1, now=datetime(2026, 6, 1))
    try:
        build_site(options, memory)
        make_site(site, {"content/a.md": post("A", extra="{venue: Lyon}")})
        result = build_site(options, memory)
        assert "<p id=x>Lyon</p>" in (site / "public/posts/a/index.html").read_text(encoding="utf-8")
        assert "posts/b/index.html" not in result.rendered
    finally:
        memory.close()
