"""Tag and category slugs keep apart names that differ in a symbol (C++, C#, C), and two names that still share a
page are an error naming both files; spellings of one name (LLM, llm) share it with a warning, as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_sites import make_site, post
from primer_site.commands.build import BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.urls import slugify, taxon_slug


@pytest.mark.parametrize(
    ("name", "slug"),
    [("C++", "c-plus-plus"), ("C#", "c-sharp"), ("C", "c"), ("F#", "f-sharp"), ("Q&A", "q-and-a"),
     ("R & D", "r-and-d"), ("@home", "at-home"), ("Node.js", "node-js"), ("Café", "cafe"), ("LLM", "llm")],
)  # fmt: skip
def test_a_symbol_that_tells_tags_apart_is_spelt_as_a_word(name: str, slug: str) -> None:
    assert taxon_slug(name) == slug


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8).filter(lambda t: slugify(t) != ""))
def test_plus_sharp_and_bare_never_share_a_page(word: str) -> None:
    slugs = {taxon_slug(word), taxon_slug(word + "++"), taxon_slug(word + "#"), taxon_slug(word + "+")}
    assert len(slugs) == 4


def test_c_cpp_and_csharp_get_three_tag_pages(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("Pointers", tags="['C++']"),
            "content/b.md": post("Delegates", tags="['C#']"),
            "content/c.md": post("Malloc", tags="[C]"),
        },
    )
    result = build_site(BuildOptions(source=site, cache=False, jobs=1))
    assert result.tags == 3 and result.warnings == ()
    for slug, title in (("c-plus-plus", "Pointers"), ("c-sharp", "Delegates"), ("c", "Malloc")):
        page = (site / f"public/tags/{slug}/index.html").read_text(encoding="utf-8")
        assert title in page and {"Pointers", "Delegates", "Malloc"} - {title} & set(page.split(">")) == set()
    post_page = (site / "public/posts/a/index.html").read_text(encoding="utf-8")
    assert 'href="/tags/c-plus-plus/"' in post_page


def test_two_names_with_one_page_are_an_error_naming_both_files(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A", tags="['C++']"),
            "content/b.md": post("B", tags="[C plus plus]"),
            "content/c.md": post("C", tags="[LLM]"),
            "content/d.md": post("D", tags="[llm]"),
        },
    )
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, cache=False, jobs=1))
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/a.md:4: error: tags: 'C++' and 'C plus plus' (content/b.md) are different names with one tag page "
        "('c-plus-plus'): rename one, or write them alike if they are one tag",
        "content/d.md:4: warning: tags: 'llm' and 'LLM' (content/c.md) are one tag, with one page that shows 'LLM': "
        "write them alike",
    ]
