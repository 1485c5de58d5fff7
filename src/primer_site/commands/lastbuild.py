"""A build in a new process and the record the last good build into the same folder kept: the digest of the
settings that shape a build's output (build_settings), the result of a build that would make exactly what the last
one made (same_as_last), what each post was assembled from (post_inputs: a post made from the very inputs of the
last build's is the same post, its whole fingerprint not worked out again), and this build's record kept for the
next (remember_build). The record itself, on disk, is publish/buildrecord.py.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from primer_site.commands.buildoptions import BuildOptions, BuildResult
from primer_site.errors import Problems
from primer_site.layout import CACHE_DIR
from primer_site.math.katexsetup import KatexSetup
from primer_site.model import Site
from primer_site.publish.buildrecord import LastBuild, PreviousBuild
from primer_site.publish.manifest import WriteResult
from primer_site.publish.output import live_folder
from primer_site.rendering.render import RenderPass
from primer_site.rendering.theme import theme_dir
from primer_site.site.assemble import Selection
from primer_site.site.postreads import PostReads
from primer_site.sources.config import SiteConfig
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta, SeriesNames
from primer_site.store import BuildInputs, is_racy


def build_settings(options: BuildOptions, output: Path, katex: KatexSetup) -> str:
    """Everything besides the site's files (and primer-site's code) that shapes a build's output, as a digest.

    The reader among it (its user and groups, real and effective): which files a build can read is not in their
    stamps, and a file it cannot read is an error (discover.link_problem), not taken from the caches at the stamp
    another reader read it at (PreviousBuild.read_before)."""
    reader = (os.getuid(), os.geteuid(), os.getgid(), os.getegid(), tuple(sorted(os.getgroups())))
    shaping = (
        str(options.source.absolute()),
        str(live_folder(output)),
        options.base_url,
        options.drafts,
        options.future,
        options.fingerprint,
        options.check_math,
        options.require_katex,
        str(theme_dir()),
        repr(katex),
        reader,
    )
    return hashlib.blake2b(repr(shaping).encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def same_as_last(last: LastBuild, config: SiteConfig, started: float) -> BuildResult:
    """The result of a build that would make what the last one made: nothing written, its warnings said again."""
    pages, posts, series, tags = last.counts
    files = len(last.manifest.files) - 1  # the marker is not one of the site's files
    return BuildResult(
        pages=pages,
        posts=posts,
        series=series,
        tags=tags,
        written=0,
        unchanged=files,
        seconds=time.perf_counter() - started,
        warnings=last.warnings,
        base_path=config.base_path,
    )


def post_inputs(
    settings: str,
    inputs: BuildInputs,
    moments: tuple[datetime | None, datetime | None],
    documents: Sequence[Document],
    metas: Sequence[SeriesMeta],
    site: Site,
    reads: PostReads,
    unreadable: frozenset[str],
) -> dict[str, tuple[bytes, bool]]:
    """A digest of everything each published post's assembled Post is made from, by its key ("post:" + source): two
    builds that give a post one digest give it equal Posts (then its whole fingerprint is the one kept with the
    digest: buildrecord.LastBuild.posts). Files count by their stamps, as the record's `files` do. What a post is
    made from:

    - what every post reads: the settings, every input file that is not a post (site.yaml, the series files, the
      words of the site's language, bibliographies, the files beside the posts, the theme), which posts are
      unreadable, and "now" as far as it sorts posts into published and scheduled (`moments`, with their dates);
    - its own file;
    - its series' posts' files (its neighbours, its place), every post whose `series:` names that series;
    - the files of the posts it reads, as the assembly recorded them (`reads`, AssembleMemo.reads): those its
      body links to, those its previews copy from, and those these copies link to (PostReads.made_from, the
      rule's one home).

    Each digest comes with whether it may be kept for the next build: whether every stamp it was made from is
    trusted (store.is_racy: a file changed within a clock tick of its stamp may change again unseen). A post whose
    own file has no stamp gets none (it is worked out as without a record).
    """
    files, taken = inputs.files, inputs.taken
    racy = {path for path, stamp in files.items() if is_racy(stamp, taken)}
    own = {d.source for d in documents} | unreadable
    shared = sorted((path, stamp) for path, stamp in files.items() if path not in own)
    times = tuple(None if moment is None else moment.isoformat() for moment in moments)
    whole_site = _digest((settings, shared, times, sorted(unreadable)))
    trusted = racy <= own
    names = SeriesNames(metas)
    slugs = {d.source: names.slug_of(d.series) for d in documents if d.series}
    members: dict[str, list[str]] = {}
    for source, slug in slugs.items():
        members.setdefault(slug, []).append(source)  # type: ignore[arg-type]
    series = {  # each series' posts' files, digested once, and whether each stamp is trusted
        slug: (_digest([(s, files.get(s)) for s in sorted(posts)]), racy.isdisjoint(posts))
        for slug, posts in members.items()
    }
    found = {}
    for post in site.posts:
        source = post.source
        stamp = files.get(source)
        if stamp is None:
            continue
        read = reads.made_from(source)
        its_series, kept = series.get(slugs.get(source), (None, True))  # type: ignore[arg-type]
        parts = (source, stamp, its_series, [(s, files.get(s)) for s in read])
        kept = kept and trusted and source not in racy and racy.isdisjoint(read)
        found["post:" + source] = (_digest((whole_site, parts)), kept)
    return found


def _digest(value: object) -> bytes:
    """16 bytes of plain data's marshal form (version 2: the same bytes in every process)."""
    return hashlib.blake2b(marshal.dumps(value, 2), digest_size=16).digest()


def remember_build(
    last: PreviousBuild,
    moments: tuple[datetime | None, datetime | None],
    written: WriteResult,
    site: Site,
    rendering: RenderPass,
    problems: Problems,
) -> None:
    """The store's commit for a build in a new process: its record kept on disk for the next build there."""
    assert written.manifest is not None
    counts = (written.pages, len(site.posts), len(site.series), len(site.tags))
    unkept = last.remember(moments, counts, tuple(problems.warnings), written.manifest, rendering)
    if unkept is not None:
        problems.warning(f"the build's record was not kept in {CACHE_DIR}/ ({unkept}): the next build starts afresh")


def moments_of(documents: Sequence[Document], selection: Selection) -> tuple[datetime | None, datetime | None]:
    """The latest post date at or before "now" and the earliest after it: while "now" stays between them, the
    same posts are published and the same are scheduled."""
    dates = [d.date for d in documents]
    before = max((d for d in dates if d <= selection.now), default=None)
    after = min((d for d in dates if d > selection.now), default=None)
    return before, after
