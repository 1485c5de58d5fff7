"""`primer-site new`: a working starting point for a site or a post."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from .errors import SiteError
from .urls import slugify

_SITE_YAML = """\
title: {title}
base_url: https://example.org/
description: Long-form technical writing, published as series.
author: ""
language: en
timezone: UTC
paginate: 10
"""

_SERIES = """\
---
title: My First Series
chapters: 3
---
What this series is about, in Markdown. It is shown on the series page.
"""

_POST = """\
---
title: {title}
date: {day}
summary: ""
{series}tags: []
draft: true
---
Write here. Inline math like $e^{{i\\pi}} + 1 = 0$ and display math:

$$
H(p) = -\\sum_x p(x) \\log p(x)
$$
"""


def new_site(folder: Path) -> list[Path]:
    if folder.exists() and any(folder.iterdir()):
        raise SiteError(f"{folder} exists and is not empty: choose a new folder")
    files = {
        folder / "site.yaml": _SITE_YAML.format(title=_yaml_text(folder.resolve().name.replace("-", " ").title())),
        folder / "series" / "my-first-series.md": _SERIES,
        folder / "content" / "posts" / "welcome.md": _POST.format(
            title='"Welcome"', day=date.today().isoformat(), series="series: my-first-series\nchapter: 1\n"
        ).replace("draft: true\n", ""),
        folder / ".gitignore": "/public/\n/.public.staging/\n/.public.lock\n/.primer-cache/\n",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for name in ("templates", "static"):
        (folder / name).mkdir(exist_ok=True)
    return list(files)


def new_post(site: Path, title: str, series: str | None, chapter: str | None, today: date) -> Path:
    if (series is None) != (chapter is None):
        raise SiteError("--series and --chapter go together: a post in a series needs its chapter")
    slug = slugify(title)
    if not slug:
        raise SiteError(f"the title {title!r} has no letters or digits to make a file name from")
    folder = site / "content" / (slugify(series) if series else "posts")
    path = folder / f"{slug}.md"
    if path.exists():
        raise SiteError(f"{path} exists already")
    series_lines = f"series: {_yaml_text(series)}\nchapter: {_yaml_text(chapter)}\n" if series and chapter else ""
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(_POST.format(title=_yaml_text(title), day=today.isoformat(), series=series_lines), encoding="utf-8")
    return path


def _yaml_text(value: str) -> str:
    """A double-quoted YAML scalar: safe whatever the title holds."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
