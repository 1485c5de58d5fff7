"""One output path, one file: content files, static files and pages may not be published at the same path, nor
one where another needs a folder; each clash is an error naming both, located where the author can fix it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote

from primer_site.errors import Problems
from primer_site.layout import CONFIG_FILE
from primer_site.model import Output, Site
from primer_site.sources.config import config_line
from primer_site.urls import collision_key, output_path


def merge_files(
    static: Mapping[str, Path], assets: Mapping[str, Path], site: Path, problems: Problems
) -> dict[str, Path]:
    """Static files and content files by output path; two at one path (or one a case-insensitive host confuses
    with it) is an error naming both."""
    merged: dict[str, Path] = {}
    taken: dict[str, str] = {}
    for path, file in [*sorted(static.items()), *sorted(assets.items())]:
        other = taken.get(collision_key(path))
        if other is not None:
            # static/A.css and static/a.css, content/Photo.txt and content/photo.txt: one file on macOS or Windows
            problems.error(
                f"published at {path}, as {describe_file(merged[other], site)} is at {other}: on a case-insensitive "
                "host they are one file: rename one of them",
                _relative(file, site),
            )
            continue
        taken[collision_key(path)] = path
        merged[path] = file
    return merged


def guard_pages(
    pages: Iterable[Output],
    files: Mapping[str, Path],
    owners_of: Callable[[], Mapping[str, tuple[str, int]]],
    site: Path,
    problems: Problems,
) -> Iterator[Output]:
    """The pages, less any written where a file is published, or where one needs a folder (a page at `css` and
    static/css/style.css): each is an error naming the page's source (`owners_of()`: output path → (source,
    line), page_owners; asked only when a page collides, since it is made from every post) and the file."""
    owned: list[Mapping[str, tuple[str, int]]] = []

    def owners() -> Mapping[str, tuple[str, int]]:
        if not owned:
            owned.append(owners_of())
        return owned[0]

    at = {collision_key(path): path for path in files}
    folders: dict[str, str] = {}  # folder → a file in it
    for path in sorted(files):
        parts = path.split("/")[:-1]
        for index in range(1, len(parts) + 1):
            folders.setdefault(collision_key("/".join(parts[:index])), path)
    written: dict[str, str] = {}  # collision key → the page written there first
    for page in pages:
        key = collision_key(page.path)
        first = written.get(key)
        if first is None:
            written[key] = page.path
        elif page.path in owners() or first in owners():
            _page_clash(page.path, first, owners(), site, problems)
            continue
        parents = page.path.split("/")[:-1]
        above = (at.get(collision_key("/".join(parents[: i + 1]))) for i in range(len(parents)))
        if key in at:
            clash, how = at[key], "is published there"
        elif key in folders:
            clash, how = folders[key], f"needs {page.path}/ to be a folder"
        elif (file := next((f for f in above if f is not None), None)) is not None:
            clash, how = file, "is a file where the page needs a folder"
        else:
            yield page
            continue
        if page.path not in owners():  # a page the site makes (robots.txt, a listing): the file must move
            problems.error(
                f"published at {clash}, in the way of the site's page {page.path}: rename it",
                describe_file(files[clash], site),
            )
            continue
        source, line = owners()[page.path]
        problems.error(
            f"page {page.path}: {describe_file(files[clash], site)} {how} "
            "(change the slug or the permalink, or rename the file)",
            source,
            line,
        )


def _page_clash(path: str, first: str, owners: Mapping[str, tuple[str, int]], site: Path, problems: Problems) -> None:
    """Two pages at one path, one of them a post's or a series' page: an error at that source's line (its `slug:`)
    naming the other page and site.yaml's `permalinks:` line, which placed them. Two of the site's own pages are
    left to the writer (write.unique_outputs)."""
    source, line = owners[path] if path in owners else owners[first]
    other = first if path in owners else path
    if other == path:  # posts are told apart when assembled (and series by slug): the other is the site's own
        what = "a page the site makes (a listing, a tag or category page)"
    else:
        what = f"the page of {owners[other][0]}" if other in owners else f"the site's page {other}"
    problems.error(
        f"page {path}: {what} is written there too (permalinks at {CONFIG_FILE}:{config_line(site, 'permalinks')}): "
        "change the slug or the permalink",
        source,
        line,
    )


def page_owners(site: Site, key_lines: Mapping[str, dict[str, int]], base_path: str) -> dict[str, tuple[str, int]]:
    """Output path → (source, line) of the pages a file may be in the way of: posts at their `slug:` line, series
    pages at their file. `key_lines`: each post's front matter keys' lines (Document.key_lines), by source."""
    lines = {source: keys.get("slug", keys.get("title", 1)) for source, keys in key_lines.items()}
    owners: dict[str, tuple[str, int]] = {p.output_path: (p.source, lines.get(p.source, 1)) for p in site.posts}
    for series in site.series:
        if series.source:
            owners[output_path("/" + unquote(series.url)[len(base_path) :])] = (series.source, 1)
    return owners


def describe_file(file: Path, site: Path) -> str:
    """A published file as the author knows it: "static/css/style.css", or "the theme's static/css/style.css"."""
    relative = _relative(file, site)
    if not relative.startswith("/"):
        return relative
    parts = file.parts
    start = len(parts) - 1 - parts[::-1].index("static") if "static" in parts else len(parts) - 1
    return "the theme's " + "/".join(parts[start:])


def _relative(file: Path, site: Path) -> str:
    try:
        return file.absolute().relative_to(site.absolute()).as_posix()
    except ValueError:
        return file.as_posix()
