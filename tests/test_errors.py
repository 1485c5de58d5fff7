"""Bad input: each kind gets its file:line error, all in one run, exit 1, no traceback, output untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixture_sites import make_site, post, run_cli, tree_bytes
from primer_site.commands.build import BuildOptions, build_site
from primer_site.commands.cli import main

GOOD = {
    "site.yaml": "title: Fixture\nbase_url: https://example.org/\n",
    "content/a.md": post("A", "2026-01-01", "## Part one\n\nText.", series="s", chapter=1),
    "content/b.md": post("B", "2026-01-02", "See [A](a.md#part-one).", series="s", chapter=2),
}

# (id, files added to GOOD, exact diagnostic lines expected on stderr)
CASES = [
    ("date-not-a-date", {"content/x.md": "---\ntitle: X\ndate: \"2024-13-45\"\n---\n"},
     ['content/x.md:3: error: date: "2024-13-45" is not a date: there is no month 13']),
    ("date-missing", {"content/x.md": "---\ntitle: X\n---\n"},
     ["content/x.md:2: error: date: is required (a date such as 2026-03-02)"]),
    ("title-missing", {"content/x.md": "---\ndate: 2026-01-01\n---\n"},
     ["content/x.md:2: error: title: is required"]),
    ("title-wrong-type", {"content/x.md": "---\ntitle: {a: 1}\ndate: 2026-01-01\n---\n"},
     ["content/x.md:2: error: title: expected text, got dict {'a': 1}"]),
    ("yaml-syntax", {"content/x.md": "---\ntitle: [oops\ndate: 2026-01-01\n---\n"},
     ["content/x.md:3: error: YAML syntax: did not find expected ',' or ']' "
      "(while parsing a flow sequence started on line 2)"]),
    ("no-front-matter", {"content/x.md": "Just text.\n"},
     ["content/x.md:1: error: missing front matter: the file must start with a '---' line"]),
    ("front-matter-not-closed", {"content/x.md": "---\ntitle: X\n"},
     ["content/x.md:1: error: front matter is not closed: add a '---' line after it"]),
    ("front-matter-not-mapping", {"content/x.md": "---\n- a\n- b\n---\n"},
     ["content/x.md:2: error: front matter must be a mapping of keys to values"]),
    ("chapter-without-series", {"content/x.md": post("X", chapter=3)},
     ["content/x.md:4: error: chapter: a chapter needs a series: add 'series:'"]),
    ("series-without-chapter", {"content/x.md": post("X", series="s")},
     ["content/x.md:4: error: series: a post in a series must have a 'chapter:'"]),
    ("chapter-not-a-number", {"content/x.md": post("X", series="s", chapter="three")},
     ["content/x.md:5: error: chapter: 'three' is not a chapter number (like 3, or \"1.3\")"]),
    ("duplicate-chapter", {"content/x.md": post("X", series="s", chapter=2)},
     ["content/x.md:5: error: chapter: 2 is also the chapter of content/b.md in series 's'"]),
    ("duplicate-url", {"content/x.md": post("X", slug="a")},
     ["content/x.md:4: error: slug: /posts/a/ and content/a.md have the same URL (change one 'slug:')"]),
    ("slug-differs-by-case", {"content/x.md": post("X", slug="A")},
     ["content/x.md:4: error: slug: /posts/A/ and content/a.md have URLs that differ only in case or accents (change one 'slug:')"]),
    ("slug-escapes", {"content/x.md": post("X", slug="../../etc")},
     ["content/x.md:4: error: slug: '../../etc' is not a valid slug (letters, digits, '-', '_', '.'); try 'etc'"]),
    ("broken-source-link", {"content/x.md": post("X", body="Intro.\n\nSee [it](missing.md).")},
     ["content/x.md:7: error: link to 'missing.md': no post at content/missing.md"]),
    ("broken-fragment", {"content/x.md": post("X", body="See [it](a.md#nowhere).")},
     ["content/x.md:5: error: link to 'a.md#nowhere': content/a.md has no heading or id #nowhere"]),
    ("broken-same-page-anchor", {"content/x.md": post("X", body="## Part one\n\nSee [one](#part-one).\n\nSee [see](#no-such-id).")},
     ["content/x.md:9: error: link to '#no-such-id': this post has no heading or id #no-such-id"]),
    ("undecodable", {"content/x.md": None},
     ["content/x.md:4: error: not valid UTF-8 (invalid continuation byte at byte 30)"]),
    ("template-syntax", {"templates/post.html": "{% extends 'base.html' %}\n{% block main %}\n{% if %}\n{% endblock %}\n"},
     ["templates/post.html:3: error: template: Expected an expression, got 'end of statement block'"]),
    ("template-runtime", {"templates/post.html": "{% extends 'base.html' %}\n{% block main %}\n\n{{ post.nosuch }}\n{% endblock %}\n"},
     ["templates/post.html:4: error: template: Post has no attribute 'nosuch' "
      "(while rendering content/b.md)"]),
    ("config-wrong-type", {"site.yaml": "title: Fixture\npaginate: many\nbase_url: https://example.org/\n"},
     ["site.yaml:2: error: paginate: expected a whole number, got 'many'"]),
]  # fmt: skip


def _write_case(root: Path, files: dict[str, str | None]) -> None:
    make_site(root, GOOD)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:  # an undecodable file: Latin-1 bytes in the body
            path.write_bytes(b"---\ntitle: X\ndate: 2026-01-01\n\xe9t\xe9\n---\n")
        else:
            path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("files", "expected"), [pytest.param(f, e, id=i) for i, f, e in CASES])
def test_bad_input_is_reported_at_its_line(tmp_path: Path, capsys, files, expected) -> None:
    site = tmp_path / "site"
    output = tmp_path / "public"
    make_site(site, GOOD)
    assert main(["build", "--source", str(site), "--output", str(output), "--now", "2026-06-01"]) == 0
    before = tree_bytes(output)
    capsys.readouterr()

    _write_case(site, files)
    code = main(["build", "--source", str(site), "--output", str(output), "--now", "2026-06-01"])

    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert code == 1
    assert lines == expected
    assert "Traceback" not in err
    assert err.rstrip().endswith("the output folder was left as it was")
    assert tree_bytes(output) == before, "a failed build changed the previous output"


def test_all_errors_of_a_build_are_reported_in_one_run(tmp_path: Path) -> None:
    site = tmp_path / "site"
    files: dict[str, str | None] = {}
    for _, case_files, _ in CASES[:17]:
        files.update({k.replace("x.md", f"x{len(files)}.md"): v for k, v in case_files.items()})
    _write_case(site, files)
    result = run_cli("build", "--source", str(site), "--output", str(tmp_path / "out"), "--now", "2026-06-01")
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert result.returncode == 1
    assert len(errors) == 17, result.stderr
    assert errors == sorted(errors, key=lambda line: (line.split(":")[0], int(line.split(":")[1])))
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_key_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    site = make_site(tmp_path, {**GOOD, "content/x.md": post("X", tagz="[a]")})
    result = run_cli("build", "--source", str(site), "--now", "2026-06-01")
    assert result.returncode == 0
    assert "content/x.md:4: warning: unknown key 'tagz' (did you mean \"tags\"?)" in result.stderr


def test_an_unknown_key_in_a_series_file_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    """The rule front matter follows (sharedkeys.warn_unknown_keys), in a series file."""
    series = "---\ntitle: S\nnumber_section: true\n---\n"
    site = make_site(tmp_path, {**GOOD, "series/s.md": series})
    result = run_cli("build", "--source", str(site), "--now", "2026-06-01")
    assert result.returncode == 0
    assert "series/s.md:3: warning: unknown key 'number_section' (did you mean \"number_sections\"?)" in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    site = make_site(tmp_path, {**GOOD, "content/x.md": "---\ntitle: X\n---\n"})
    plain = run_cli("build", "--source", str(site))
    debug = run_cli("build", "--source", str(site), "--debug")
    assert plain.returncode == debug.returncode == 1
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert "content/x.md:2: error: date: is required" in debug.stderr


def test_output_folder_that_would_delete_the_site_is_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path, GOOD)
    for output in (site, site / "content", tmp_path.parent):
        result = run_cli("build", "--source", str(site), "--output", str(output))
        assert result.returncode == 1
        assert "choose another --output" in result.stderr
    assert (site / "content" / "a.md").exists()


def test_same_page_anchors_to_what_the_page_holds_build_as_written(tmp_path: Path) -> None:
    """Headings, raw HTML ids and footnotes are the page's: links to them stay as written."""
    body = (
        '## Café au lait\n\n<span id="raw-id">x</span>\n\nText[^1] and [a](#café-au-lait), [b](#raw-id), '
        "[c](#fn1).\n\n[^1]: A note."
    )
    site = make_site(tmp_path, {"content/x.md": post("X", body=body)})
    build_site(BuildOptions(source=site, cache=False, jobs=1))
    page = (site / "public/posts/x/index.html").read_text(encoding="utf-8")
    for href in ("#caf%C3%A9-au-lait", "#raw-id", "#fn1"):
        assert f'<a href="{href}">' in page, href
