"""Hostile inputs and environments: nothing outside the site is published, no active content slips past
`raw_html: false`, and each hostile case is a located error, not a traceback."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixture_sites import make_site, post
from primer_site.build import BuildOptions, build_site
from primer_site.errors import SiteError

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def build(site: Path, **options: object) -> Path:
    out = site / "public"
    build_site(BuildOptions(source=site, output=out, now=NOW, jobs=1, cache=False, **options))  # type: ignore[arg-type]
    return out


def messages(site: Path) -> list[str]:
    with pytest.raises(SiteError) as caught:
        build(site)
    return [str(d) for d in caught.value.diagnostics]


# ---------------------------------------------------------------- symbolic links (issue item 6)


@pytest.mark.parametrize("folder", ["content", "content/vol", "static", "series"])
def test_a_link_out_of_the_site_is_an_error_that_names_it_and_where_it_points(tmp_path: Path, folder: str) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOKEN=hunter2", encoding="utf-8")
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    (site / folder).mkdir(parents=True, exist_ok=True)
    name = "leak.md" if folder == "series" else "leak.txt"
    (site / folder / name).symlink_to(secret)
    found = messages(site)
    assert found == [
        f"{folder}/{name}: error: is a symbolic link to {secret}, outside the site folder: nothing outside the site "
        "is published unless site.yaml says `follow_links_outside: true` (or put the file itself here)"
    ]
    assert not (site / "public").exists()


def test_a_folder_linked_from_outside_is_refused_and_not_walked(tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "shadow").write_text("root:x", encoding="utf-8")
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    (site / "content" / "etc").symlink_to(outside)
    (found,) = messages(site)
    assert found.startswith(f"content/etc: error: is a symbolic link to {outside}, outside the site folder")


def test_follow_links_outside_publishes_what_the_link_points_to(tmp_path: Path) -> None:
    shared = tmp_path / "shared.txt"
    shared.write_text("shared data", encoding="utf-8")
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "follow_links_outside: true\n")
    (site / "content" / "shared.txt").symlink_to(shared)
    (site / "static").mkdir()
    (site / "static" / "shared2.txt").symlink_to(shared)
    out = build(site)
    assert (out / "shared.txt").read_text() == "shared data"
    assert (out / "shared2.txt").read_text() == "shared data"


@pytest.mark.parametrize("target", ["/proc/self/environ", "/proc/self", "/dev/null", "/sys/kernel"])
@pytest.mark.parametrize("allowed", [False, True])
def test_proc_sys_and_dev_are_never_published_even_when_links_outside_are_allowed(
    tmp_path: Path, target: str, allowed: bool
) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    if allowed:
        (site / "site.yaml").write_text((site / "site.yaml").read_text() + "follow_links_outside: true\n")
    (site / "content" / "env.txt").symlink_to(target)
    (found,) = messages(site)
    assert found.startswith("content/env.txt: error: links to /"), found
    assert found.endswith(": a file under /proc, /sys or /dev is never published (remove the link)")
    assert not (site / "public").exists()


def test_links_inside_the_site_and_the_theme_s_own_static_files_are_fine(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post(), "content/real.txt": "data", "static/x.css": "a{}"})
    (site / "content" / "alias.txt").symlink_to(site / "content" / "real.txt")
    out = build(site, fingerprint=False)
    assert (out / "alias.txt").read_text() == "data"
    assert (out / "x.css").exists()
