"""What the dev server keeps from one build to the next in its process, and what it is told changed.

build.py reads and fills a BuildMemory; nothing here decides what to build. Across processes the same role is
played by .primer-cache/ (lastbuild.py, documentcache.py, cache.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import jinja2

from .assemble import AssembleMemo
from .assets import AssetMemo
from .bodies import BodyMemo
from .config import SiteConfig
from .discover import Sources
from .errors import Diagnostic, Problems, SiteError
from .feeds import BodyFormulas
from .katex import KatexService, KatexSetup
from .markdown import BodySource, RenderedBody, render_bodies
from .mathcheck import CheckMemo
from .parse import SeriesMeta
from .render import RenderMemory


class BuildMemory:
    """What the previous build in this process made, for the next one to reuse.

    Held by a caller that rebuilds again and again (the dev server): a file whose stat did not
    change is not read again, an unchanged post keeps its rendered body and its Post, a page whose
    inputs did not change keeps its bytes, and only files whose bytes changed are written.
    """

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], tuple[tuple[int, int, int, int], object, tuple[Diagnostic, ...]]] = {}
        # (document, (number_sections, formulas read), body)
        self.bodies: BodyMemo = {}
        self.assembled = AssembleMemo()
        self.pages = RenderMemory()
        self.environment: tuple[tuple, jinja2.Environment] | None = None
        self.output: Path | None = None
        self.written: dict[str, object] = {}
        self.config: SiteConfig | None = None
        self.descriptions: dict[str, tuple[SeriesMeta, bool, RenderedBody | SiteError]] = {}
        self.katex: KatexService | None = None  # one Node process for every rebuild, and the answers it gave
        self.feed_formulas: BodyFormulas = {}  # the formulas in the bodies full-content feeds carry
        self.check_memo = CheckMemo()  # the math check's verdicts, file by file
        self.assets = AssetMemo()
        self.published: frozenset[str] = frozenset()  # the files the last good build published beside its pages

    def forget_all_but(self, sources: Sources) -> None:
        """Drop what is kept for files that are gone (a deleted or renamed post, series file): a preview that
        runs all day keeps only what its site still has."""
        posts, series = set(sources.posts), set(sources.series)
        self.files = {
            key: entry
            for key, entry in self.files.items()
            if key[0] == "config" or key[1] in (posts if key[0] == "post" else series)
        }
        self.bodies = {path: entry for path, entry in self.bodies.items() if path in posts}
        self.descriptions = {path: entry for path, entry in self.descriptions.items() if path in series}

    def katex_service(self, setup: KatexSetup) -> KatexService:
        """The service kept from the last build, or a new one if Node or the katex package changed."""
        if self.katex is None or self.katex.setup != setup:
            if self.katex is not None:
                self.katex.close()
            self.katex = KatexService(setup, keep_alive=True)
        return self.katex

    def close(self) -> None:
        """End what the memory keeps running (the KaTeX process); it would end with this process anyway."""
        if self.katex is not None:
            self.katex.close()

    def series_body(self, meta: SeriesMeta, raw_html: bool) -> RenderedBody | SiteError:
        """A series' description, rendered again only when its file was read again."""
        known = self.descriptions.get(meta.source)
        if known is not None and known[0] is meta and known[1] == raw_html:
            return known[2]
        [body] = render_bodies([BodySource(meta.body, meta.source, meta.body_first_line)], raw_html, 1)
        self.descriptions[meta.source] = (meta, raw_html, body)
        return body

    def read(
        self,
        kind: str,
        path: Path | str,
        relative: str,
        parse: Callable[[Problems], object],
        problems: Problems,
        unchanged: bool | None = None,
    ) -> object:
        """`parse(problems)` for this file, or what it gave last time if the file's stat is the same. The caller
        may know better, from the watcher: `unchanged` False (it is read again, whatever its stat says: two saves
        within one tick of the clock can leave it the same)."""
        known = self.files.get((kind, relative))
        if unchanged and known is not None:
            problems.extend(known[2])
            return known[1]
        if unchanged is False:
            known = None
        try:
            info = os.stat(path)
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns)
        except FileNotFoundError:
            stamp = (0, -1, 0, 0)  # absent (a site without site.yaml): as stable as a file that did not change
        except OSError:
            stamp = (-1, -1, -1, -1)  # unreadable: read again, and report again
        if known is not None and known[0] == stamp and stamp[0] != -1:
            problems.extend(known[2])
            return known[1]
        found = Problems()
        result = parse(found)
        problems.extend(found.items)
        self.files[(kind, relative)] = (stamp, result, tuple(found.items))
        return result
