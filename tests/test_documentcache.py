"""Parsed posts kept across processes: what a later build takes from the cache is exactly what parsing gives."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixture_sites import build_result, make_site, post, tree_bytes
from primer_site.caches import documentcache, documentrows
from primer_site.diskstore import sealed, unsealed
from primer_site.sources import parse

EXTRA = (
    "extra:\n  when: 2026-03-01T10:00:00+01:00\n  day: 2026-03-02\n  ratio: 1.0\n  count: 3\n  flag: true\n"
    "  nothing: null\n  list: [1, two, 3.5]\n  nested: {a: {b: [x, y]}}\n"
)
TEMPLATE = (
    "{% extends 'base.html' %}{% block main %}<p>{{ post.title }} {{ post.date.isoformat() }} "
    "{{ post.extra }} {{ post.summary_html | safe }} {{ post.tags }} {{ post.chapter_label }}</p>{% endblock %}\n"
)


def site_with_cached_posts(tmp_path: Path) -> Path:
    text = post("Cached", date="2026-01-05T09:30:00+05:30", summary="'*Sum* with $x^2$'", tags="[a, b]")
    text = text.replace("---\nHello.", EXTRA + "---\nHello.")
    return make_site(
        tmp_path / "site",
        {
            "site.yaml": "title: C\nbase_url: https://example.org/\ntimezone: America/New_York\n",
            "content/a.md": text,
            "content/b.md": post("Zoned", date="2026-02-01", series="s", chapter="1.10"),
            "content/c.md": post("Zulu", date="2026-01-07T12:00:00Z"),
            "templates/post.html": TEMPLATE,
        },
    )


def build(site: Path, output: str, cache: bool = True) -> dict[str, bytes]:
    build_result(site, output=site.parent / output, cache=cache)
    return tree_bytes(site.parent / output)


def test_a_post_from_the_cache_is_the_post_parsing_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = site_with_cached_posts(tmp_path)
    build(site, "first")  # parses, and keeps every post
    assert (site / ".primer-cache/documents.sqlite3").is_file()
    parsed: list[str] = []
    real = documentcache.parse_document
    monkeypatch.setattr(
        documentcache,
        "parse_document",
        lambda site, relative, *rest: parsed.append(relative) or real(site, relative, *rest),
    )
    again = build(site, "second")  # a new output folder: every page is made, from the kept posts
    assert parsed == [], "a kept post was parsed again (its entry could not be read back)"
    monkeypatch.undo()
    assert again == build(site, "fresh", cache=False)
    page = again["posts/a/index.html"].decode()
    assert "2026-01-05T09:30:00+05:30" in page and "datetime.datetime(2026, 3, 1, 10, 0" in page
    assert "&#39;ratio&#39;: 1.0" in page and "&#39;nested&#39;: {&#39;a&#39;: {&#39;b&#39;: (&#39;x&#39;" in page
    assert "tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))" in page  # as YAML made it: no name


def test_an_edit_that_keeps_the_size_and_the_time_is_seen(tmp_path: Path) -> None:
    site = site_with_cached_posts(tmp_path)
    build(site, "out")
    path = site / "content/b.md"
    info = path.stat()
    path.write_text(path.read_text().replace("Zoned", "Zonal"), encoding="utf-8")  # the same length
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the same modification time
    assert "Zonal" in build(site, "out")["posts/b/index.html"].decode()


def test_a_damaged_cache_is_parsed_afresh(tmp_path: Path) -> None:
    site = site_with_cached_posts(tmp_path)
    first = build(site, "first")
    (site / ".primer-cache/documents.sqlite3").write_bytes(b"not a database")
    assert build(site, "second") == first


def test_a_post_saved_while_it_is_parsed_is_parsed_again_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the author saves right after the build read the file: what is kept must be the digest of what was parsed
    site = make_site(tmp_path / "site", {"content/a.md": post("Before the save")})
    original = parse.load_yaml_mapping

    def save_after_the_read(text: str, path: str, *args: object, **kwargs: object) -> object:
        if path == "content/a.md":
            monkeypatch.setattr(parse, "load_yaml_mapping", original)
            (site / "content/a.md").write_text(post("After the save"), encoding="utf-8")
        return original(text, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parse, "load_yaml_mapping", save_after_the_read)
    assert "Before the save" in build(site, "out")["posts/a/index.html"].decode()
    assert "After the save" in build(site, "out")["posts/a/index.html"].decode()  # a new process would see it too


@given(
    moment=st.datetimes(
        timezones=st.one_of(
            st.none(),
            st.just(UTC),
            st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))),
            st.builds(
                lambda minutes, name: timezone(timedelta(minutes=minutes), name),
                st.integers(-1380, 1380),
                st.text(min_size=1, max_size=8),
            ),
            st.sampled_from([ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC")]),
        )
    )
)
def test_every_date_a_post_can_hold_comes_back_from_the_cache_as_it_was(moment: datetime) -> None:
    moment = moment.replace(fold=0)  # parsing never makes the second of a repeated hour (dates.in_zone)
    back = documentrows._unmoment(unsealed(sealed(documentrows._moment(moment))))  # as a row holds it
    assert back == moment and repr(back) == repr(moment)


def test_the_document_cache_keeps_every_field_of_a_series_file() -> None:
    """Each SeriesMeta field, set, comes back from the document cache's row as it was (a field added later and left
    out of the row fails here)."""
    import dataclasses

    from primer_site.errors import Problems
    from primer_site.sources.seriesfile import SeriesMeta

    meta = SeriesMeta(
        source="series/s.md",
        slug="s",
        title="S",
        kind="series",
        collection="c",
        order=3,
        planned_chapters=9,
        gaps=(4,),
        body="The description.\n",
        body_first_line=5,
        key_lines={"title": 2},
        macros=(("\\vv", "\\mathbf{v}"),),
        number_sections=True,
        theorems={"counter": "per-kind", "kinds": [{"kind": "claim", "label": "Claim", "ratio": 1.5}]},
        bibliography=("series/refs.bib",),
        authors=("Ann Lee",),
        notes=(("\\vv", "\\mathbf{v}", "a vector", "series/s.md"),),
        books=(("pdf", True),),
    )
    defaults = SeriesMeta("x", "x", "x", "collection", None, 0, None, (), "", 1, {})
    unset = [f.name for f in dataclasses.fields(SeriesMeta) if getattr(meta, f.name) == getattr(defaults, f.name)]
    assert unset == [], "set every field here"
    encoded = documentrows.encode_series(meta, [])
    assert encoded is not None
    back = documentrows.decode_series(("", "", encoded[0], encoded[1]), meta.source, Problems())
    assert back == meta
    assert back.theorems is not None and isinstance(back.theorems["kinds"][0]["ratio"], float)
    damaged = encoded[0][:-1] + bytes([encoded[0][-1] ^ 1])
    assert documentrows.decode_series(("", "", damaged, None), meta.source, Problems()) is documentrows.UNUSABLE
