"""A series' notation index (`/series/<slug>/notation/`): each macro of its series file that says what it means.

`macros: {\\KL: {tex: 'D_{\\mathrm{KL}}', means: Kullback–Leibler divergence, defined: ch02.md#kl-divergence}}`
(sharedkeys.parse_macros reads the TeX; this module the rest): the page shows each symbol typeset, its meaning, a link
to where it is defined and the chapters that use it. A chapter published before the one that defines a symbol
and using it is a warning at the line of its first use (the reader meets a symbol not yet explained).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from primer_site.errors import Problems
from primer_site.model import Post, PostLink, Series
from primer_site.urls import slugify


@dataclass(frozen=True)
class NotationEntry:
    """One row of the notation page."""

    name: str  # "\\KL"
    tex: str  # "D_{\\mathrm{KL}}"
    means: str  # "Kullback–Leibler divergence"
    defined: PostLink | None  # where it is defined (its url with the #fragment), or None
    used_in: tuple[PostLink, ...]  # the published chapters whose body uses it, in chapter order


def macro_notes(macros: object) -> tuple[tuple[str, str, str, str], ...]:
    """(name, tex, means, defined) of each macro written in the mapping form with a meaning or a place; the
    mapping is a series file's `macros:` (already checked by sharedkeys.parse_macros)."""
    if not isinstance(macros, dict):
        return ()
    notes = []
    for name, value in macros.items():
        if (
            isinstance(value, dict)
            and isinstance(value.get("tex"), str)
            and (value.get("means") or value.get("defined"))
        ):
            key = name if str(name).startswith("\\") else "\\" + str(name)
            notes.append((key, value["tex"], str(value.get("means", "")), str(value.get("defined", ""))))
    return tuple(notes)


def add_notation(
    series: list[Series],
    notes: dict[str, tuple[tuple[str, str, str, str], ...]],
    note_lines: dict[str, tuple[str, int]],
    bodies: dict[str, tuple[str, int]],
    problems: Problems,
    scheduled: Sequence[Post] = (),
    label: Callable[[Post], str] | None = None,
    out_on: Callable[[Post], str] | None = None,
) -> list[Series]:
    """Each series with its notation entries. `notes`: series slug → macro_notes; `note_lines`: slug → (series
    file, line of `macros:`); `bodies`: post source → (Markdown body, its first line), for the uses' lines.

    A `defined:` naming no chapter of the series is an error at the series file's `macros:` line; one naming a
    chapter of `scheduled` (posts not out yet) is its chapter and date, without a link, until it is out.
    `label`: a chapter's label in the site's language, `out_on`: a scheduled chapter's "Chapter 3, out on 2 March
    2027" in it (default: post.chapter_label and an English date).
    """
    label = label or (lambda post: post.chapter_label)
    out_on = out_on or (lambda p: f"{p.chapter_label or p.title}, out on {p.date.day} {p.date:%B %Y}")
    result = []
    later_of = scheduled_of(series, scheduled)
    for one in series:
        written = notes.get(one.slug, ())
        if not written:
            result.append(one)
            continue
        later = later_of.get(one.slug, [])
        later_sources = {p.source for p in later}
        by_file = {posixpath.basename(p.source): p for p in (*later, *one.posts)}
        entries = []
        for name, tex, means, defined in written:
            file, _, fragment = defined.partition("#")
            target = by_file.get(posixpath.basename(file)) if file else None
            if file and target is None:
                where, line = note_lines[one.slug]
                problems.error(f"macros: {name}: defined: no chapter {file} in series {one.slug!r}", where, line)
            uses = _uses(name, one.posts, bodies)
            if target is not None:
                for post, line in uses:
                    if post.date < target.date:
                        problems.warning(
                            f"{name} ({means or tex}) is used here, before {target.chapter_label or target.title} "
                            f"defines it ({target.date:%Y-%m-%d}): define it earlier, or say where it comes from",
                            post.source,
                            line,
                        )
            link = None
            if target is not None and target.source in later_sources:
                link = PostLink(target.title, "", out_on(target))
            elif target is not None:
                link = PostLink(target.title, target.url + (f"#{fragment}" if fragment else ""), label(target))
            used_in = tuple(PostLink(p.title, p.url, label(p)) for p, _ in uses)
            entries.append(NotationEntry(name, tex, means, link, used_in))
        result.append(replace(one, notation=tuple(entries)))
    return result


def scheduled_of(series: Sequence[Series], scheduled: Sequence[Post]) -> dict[str, list[Post]]:
    """Series slug → its posts of `scheduled` (not out yet), in their order: a post's `series` names one by its slug
    or title, or slugifies to its slug. One pass over each list (not one over the posts per series)."""
    by_name: dict[str | None, list[int]] = {}
    by_slug: dict[str, list[int]] = {}
    for index, post in enumerate(scheduled):
        by_name.setdefault(post.series, []).append(index)
        by_slug.setdefault(slugify(post.series or ""), []).append(index)
    found: dict[str, list[Post]] = {}
    for one in series:
        indexes = {*by_name.get(one.slug, ()), *by_name.get(one.title, ()), *by_slug.get(one.slug, ())}
        if indexes:
            found[one.slug] = [scheduled[i] for i in sorted(indexes)]
    return found


def _uses(name: str, posts: Sequence[Post], bodies: dict[str, tuple[str, int]]) -> list[tuple[Post, int]]:
    """The posts whose Markdown uses macro `name` (`\\KL`, not `\\KLx`), each with the line of its first use."""
    pattern = re.compile(re.escape(name) + r"(?![A-Za-z])")
    found = []
    for post in posts:  # a series' posts are in chapter order
        body, first_line = bodies.get(post.source, ("", 1))
        match = pattern.search(body)
        if match:
            found.append((post, first_line + body.count("\n", 0, match.start())))
    return found
