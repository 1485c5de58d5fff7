"""What a build is asked (BuildOptions: the command line's and the preview's settings), what it answers
(BuildResult: counts, warnings, the model it built), and what one process keeps between its builds (BuildMemory,
the dev server's warm store). build.py runs the stages; `build`, `check` and `serve` meet here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from primer_site.errors import Diagnostic
from primer_site.layout import OUTPUT_DIR
from primer_site.math.katex import KatexService
from primer_site.model import Site
from primer_site.store import Store


@dataclass(frozen=True)
class BuildOptions:
    """What `build` (and `serve`'s builds) are asked to do: folders, URL, drafts, checks."""

    source: Path = Path(".")
    output: Path | None = None  # default: <source>/public
    base_url: str | None = None
    drafts: bool = False
    future: bool = False
    jobs: int = 0  # 0: one per CPU
    now: datetime | None = None  # pinned "now" (without a UTC offset: in the site's time zone), for previews of a day
    cache: bool = True  # reuse rendered bodies from SOURCE/.primer-cache
    fingerprint: bool = (
        True  # content hashes in CSS/JS names; the preview turns it off so a CSS edit re-renders no page
    )
    # every formula through KaTeX (build and check unless --no-check-math, serve); the checks that need no Node
    # (braces, environments, unclosed `$`) run whatever this says
    check_math: bool = False
    require_katex: bool = False  # with check_math: KaTeX not running is an error, not a warning (check, build)
    force: bool = False  # replace an output folder primer-site did not make (build --force)
    # write the site even with errors, returned in BuildResult.errors: for `check`, into its own temporary folder,
    # so that one run reports every problem; never for an output a reader sees (the writer records the errors
    # instead of stopping: write.SiteWriter's `records`)
    keep_going: bool = False

    @property
    def output_dir(self) -> Path:
        return self.output if self.output is not None else self.source / OUTPUT_DIR


@dataclass(frozen=True)
class BuildResult:
    """What a build made: counts of pages, posts, series, and files written."""

    pages: int
    posts: int
    series: int
    tags: int
    written: int
    unchanged: int
    seconds: float
    warnings: tuple[Diagnostic, ...]
    site: Site | None = None  # the model that was built, for commands on top of the build
    base_path: str = "/"
    rendered: tuple[str, ...] = ()  # the pages and feeds rendered (not reused from the previous build)
    errors: tuple[Diagnostic, ...] = ()  # with keep_going: the build's errors (else it raises them)
    every_page: bool = True  # False: a template error left pages out of the output (keep_going)
    # the earliest date of a post this build left out as scheduled (None: none, or "now" was pinned): the
    # preview builds again then, so that a chapter falling due while it runs is published
    next_due: datetime | None = None


class BuildMemory(Store):
    """The store one process keeps between its builds (the dev server's): what each stage made, given back while
    its inputs are the same (store.py)."""

    @property
    def katex(self) -> KatexService | None:
        """The KaTeX service kept running between builds, if one was started."""
        return self.peek("katex")
