"""A build in a new process and the record the last good build into the same folder kept: the digest of the
settings that shape a build's output (build_settings), the result of a build that would make exactly what the last
one made (same_as_last), and this build's record kept for the next (remember_build). The record itself, on disk,
is publish/buildrecord.py.
"""

from __future__ import annotations

import hashlib
import os
import time
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
from primer_site.sources.config import SiteConfig


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
