"""The theme's templates: a page is recorded against the template text it was rendered from, not the file as it
is when the build ends (a template saved while a build renders is a change for the next build)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixture_sites import NOW, make_site, post, run_cli
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.rendering import render

TEMPLATE = "{% extends 'base.html' %}{% block main %}<p>VERSION-%s {{ post.title }}</p>{% endblock %}\n"


def version(n: int) -> str:
    return TEMPLATE.replace("%s", str(n))


@pytest.fixture
def saved_while_rendering(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path, str], None]]:
    """Arrange for `path` to be written with `text` once the pages are rendered, before the build records them:
    an author saving a template while a long build runs."""
    pending: list[tuple[Path, str]] = []
    original = render.RenderPass.commit

    def commit(self: render.RenderPass) -> None:
        while pending:
            path, text = pending.pop()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        original(self)

    monkeypatch.setattr(render.RenderPass, "commit", commit)
    yield lambda path, text: pending.append((path, text))


def page(output: Path) -> str:
    return (output / "posts/a/index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("told", [True, False], ids=["watcher-told", "looked-at"])
def test_a_template_saved_while_serving_renders_is_seen_by_the_next_rebuild(
    tmp_path: Path, saved_while_rendering: Callable[[Path, str], None], told: bool
) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "templates/post.html": version(1)})
    options = BuildOptions(source=site, output=tmp_path / "out", now=NOW, jobs=1, fingerprint=False)
    memory = BuildMemory()
    saved_while_rendering(site / "templates/post.html", version(2))
    build_site(options, memory)
    assert "VERSION-1 A" in page(tmp_path / "out")  # rendered before the save
    again = build_site(options, memory, {"templates/post.html"} if told else None)
    assert "posts/a/index.html" in again.rendered
    assert "VERSION-2 A" in page(tmp_path / "out")


def test_an_override_added_while_serving_renders_is_seen_by_the_next_rebuild(
    tmp_path: Path, saved_while_rendering: Callable[[Path, str], None]
) -> None:
    # the theme's post.html was looked up and used; the site's appears before the build records what pages read
    site = make_site(tmp_path / "site", {"content/a.md": post("A")})
    options = BuildOptions(source=site, output=tmp_path / "out", now=NOW, jobs=1, fingerprint=False)
    memory = BuildMemory()
    saved_while_rendering(site / "templates/post.html", version(2))
    build_site(options, memory)
    assert "VERSION" not in page(tmp_path / "out")
    again = build_site(options, memory, {"templates", "templates/post.html"})
    assert "posts/a/index.html" in again.rendered
    assert "VERSION-2 A" in page(tmp_path / "out")


@pytest.mark.parametrize("existed", [True, False], ids=["edited", "added"])
def test_a_template_saved_while_a_build_renders_is_seen_by_the_next_build(
    tmp_path: Path, saved_while_rendering: Callable[[Path, str], None], existed: bool
) -> None:
    files = {"content/a.md": post("A"), "templates/post.html": version(1) if existed else None}
    site = make_site(tmp_path / "site", files)
    output = tmp_path / "out"
    saved_while_rendering(site / "templates/post.html", version(2))
    build_site(BuildOptions(source=site, output=output, now=NOW, jobs=1))  # remembers what its pages read
    assert ("VERSION-1 A" in page(output)) == existed
    done = run_cli("build", "--source", str(site), "--output", str(output), "--now", "2026-06-01", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "VERSION-2 A" in page(output)


def test_templates_render_as_jinja_reads_their_files(tmp_path: Path) -> None:
    # Windows line endings, a byte-order mark kept as text, a template in a linked folder, a dot in the name
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared/note.html").write_text("<i>shared</i>\n", encoding="utf-8")
    site = make_site(
        tmp_path / "site",
        {
            "content/a.md": post("A"),
            "templates/post.html": "{% extends 'base.html' %}{% block main %}<p>\r\n{{ post.title }}\r\n</p>"
            "{% include 'parts/./note.html' %}{% endblock %}\r\n",
        },
    )
    (site / "templates/parts").symlink_to(tmp_path / "shared", target_is_directory=True)
    (site / "templates/loop").symlink_to(site / "templates", target_is_directory=True)  # a link to itself
    build_site(BuildOptions(source=site, output=tmp_path / "out", now=NOW, jobs=1, cache=False))
    html = page(tmp_path / "out")
    assert "<p>\nA\n</p><i>shared</i>" in html and "\r" not in html


def test_a_template_that_is_not_utf8_is_an_error_at_its_line(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A")})
    (site / "templates").mkdir()
    (site / "templates/post.html").write_bytes(b"{% extends 'base.html' %}\n<p>caf\xe9</p>\n")
    done = run_cli("build", "--source", str(site), "--now", "2026-06-01")
    assert done.returncode == 1
    expected = "templates/post.html:2: error: template: not valid UTF-8 (invalid continuation byte at byte 32)"
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert not (site / "public").exists()


def _build_in_new_process(site: Path, output: Path) -> None:
    """A build as `primer-site build` makes it in a new process: no memory of this one, the cache on."""
    build_site(BuildOptions(source=site, output=output, now=NOW, jobs=1, cache=True), None)


def test_a_new_process_compiles_only_the_templates_whose_text_changed(tmp_path: Path, compiled: list[str]) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "templates/post.html": version(1)})
    _build_in_new_process(site, tmp_path / "ref")
    assert "post.html" in compiled and "base.html" in compiled
    compiled.clear()
    (site / "content/a.md").write_text(post("A", body="Edited."), encoding="utf-8")
    _build_in_new_process(site, tmp_path / "out")
    assert compiled == []  # every template loaded compiled from .primer-cache/
    assert "VERSION-1 A" in page(tmp_path / "out") and "Edited." in page(tmp_path / "out")
    (site / "templates/post.html").write_text(version(2), encoding="utf-8")
    _build_in_new_process(site, tmp_path / "out")
    assert compiled == ["post.html"]
    assert "VERSION-2 A" in page(tmp_path / "out")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign-header", "a-folder"])
def test_a_damaged_compiled_template_is_compiled_again(tmp_path: Path, compiled: list[str], damage: str) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "templates/post.html": version(1)})
    _build_in_new_process(site, tmp_path / "ref")
    kept = sorted((site / ".primer-cache/compiled-templates").iterdir())
    assert len(kept) == len(compiled)
    for path in kept:
        data = path.read_bytes()
        if damage == "garbage":
            path.write_bytes(b"\x00not code" * 50)
        elif damage == "truncated":
            path.write_bytes(data[: len(data) - 7])
        elif damage == "foreign-header":
            path.write_bytes(data.replace(b"primer-site templates 1", b"primer-site templates 0", 1))
        else:
            path.unlink()
            path.mkdir()
    compiled.clear()
    (site / "content/a.md").write_text(post("A", body="Edited."), encoding="utf-8")
    _build_in_new_process(site, tmp_path / "out")
    assert sorted(compiled) == sorted(set(compiled)) and len(compiled) == len(kept)
    build_site(BuildOptions(source=site, output=tmp_path / "cold", now=NOW, jobs=1, cache=False), None)
    assert page(tmp_path / "out") == page(tmp_path / "cold")


def test_builds_in_one_process_without_the_cache_compile_only_the_templates_whose_text_changed(
    tmp_path: Path, compiled: list[str]
) -> None:
    """As .primer-cache/ keeps them between processes, this process keeps what it compiled for the same site
    folder; another site folder compiles its own, and nothing is written to either site."""
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "templates/post.html": version(1)})

    def build(folder: Path, output: str) -> None:
        build_site(BuildOptions(source=folder, output=tmp_path / output, now=NOW, jobs=1, cache=False), None)

    build(site, "one")
    assert "post.html" in compiled and "base.html" in compiled
    compiled.clear()
    (site / "content/a.md").write_text(post("A", body="Edited."), encoding="utf-8")
    build(site, "two")
    assert compiled == []
    assert "VERSION-1 A" in page(tmp_path / "two") and "Edited." in page(tmp_path / "two")
    (site / "templates/post.html").write_text(version(2), encoding="utf-8")
    build(site, "three")
    assert compiled == ["post.html"] and "VERSION-2 A" in page(tmp_path / "three")
    other = make_site(tmp_path / "other", {"content/a.md": post("A"), "templates/post.html": version(2)})
    compiled.clear()
    build(other, "four")
    assert "post.html" in compiled and "base.html" in compiled
    assert not (site / ".primer-cache").exists() and not (other / ".primer-cache").exists()
