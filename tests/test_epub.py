"""A volume as an EPUB 3 (/series/<slug>/<slug>.epub), and the `books:` setting that asks for it (and for a PDF)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fixture_sites import make_site, post
from primer_site.build import BuildOptions, build_site
from primer_site.model import Books

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BASE = "title: T\nbase_url: https://example.org/\ntimezone: UTC\n"


# ---------------------------------------------------------------- the books setting


def _settings_site(root: Path, site_books: str = "", series_books: str = "") -> Path:
    series = "---\ntitle: Vol\n" + (f"books: {series_books}\n" if series_books else "") + "---\nA volume.\n"
    other = "---\ntitle: Other\n---\nAnother.\n"
    return make_site(
        root,
        {
            "site.yaml": BASE + (f"books: {site_books}\n" if site_books else ""),
            "series/vol.md": series,
            "series/other.md": other,
            "content/a.md": post("A", "2026-01-01", "Text.", series="vol", chapter=1),
            "content/b.md": post("B", "2026-01-01", "Text.", series="other", chapter=1),
        },
    )


def _settings_build(site: Path):
    return build_site(BuildOptions(source=site, now=NOW, cache=False, jobs=1, keep_going=True))


def test_books_in_site_yaml_apply_to_every_series_and_a_series_file_overrides_them_key_by_key(
    tmp_path: Path,
) -> None:
    result = _settings_build(_settings_site(tmp_path, "{pdf: true}", "{pdf: false, epub: true}"))
    assert result.errors == ()
    assert result.site is not None
    books = {one.slug: one.books for one in result.site.series}
    assert books == {"vol": Books(epub=True, pdf=False), "other": Books(epub=False, pdf=True)}
    assert [one.slug for one in result.site.series_wanting("pdf")] == ["other"]
    assert [one.slug for one in result.site.series_wanting("epub")] == ["vol"]


def test_no_books_setting_writes_no_book(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path))
    assert result.site is not None
    assert result.site.series_wanting("epub") == () == result.site.series_wanting("pdf")
    assert not list((tmp_path / "public").rglob("*.epub"))


def test_pdf_alone_is_read_for_the_pdf_writer(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path, "", "{pdf: true}"))
    assert result.errors == ()
    assert result.site is not None
    assert [one.slug for one in result.site.series_wanting("pdf")] == ["vol"]
    assert result.site.series_wanting("epub") == ()


def test_unknown_books_keys_and_values_that_are_not_booleans_are_errors_at_their_line(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path, "{epbu: true}", "{pdf: 'yes please'}"))
    assert sorted(str(d) for d in result.errors) == [
        "series/vol.md:3: error: books: pdf: expected true or false, got 'yes please'",
        "site.yaml:4: error: books: unknown key 'epbu' (did you mean \"epub\"?) (known keys: epub, pdf)",
    ]


def test_books_that_is_not_a_mapping_is_an_error_naming_the_keys(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path, "true"))
    assert [str(d) for d in result.errors] == [
        "site.yaml:4: error: books: expected a mapping such as {epub: true, pdf: true} (keys: epub, pdf), got True"
    ]


def test_a_collection_file_with_books_is_an_error(tmp_path: Path) -> None:
    site = _settings_site(tmp_path)
    (site / "series/shelf.md").write_text("---\ntitle: Shelf\nkind: collection\nbooks: {epub: true}\n---\n")
    result = _settings_build(site)
    assert [str(d) for d in result.errors] == [
        "series/shelf.md:4: error: books: a collection is not written as one book: set `books:` in the files of its "
        "series"
    ]
