"""The pinned KaTeX as primer-site's one math engine: formulas checked and rendered under Node, answers kept.

A build asks about each distinct formula once, as a key (TeX, display or inline, the macros in force) and what
it wants: CHECK (does KaTeX accept it, and if not, its message), MATHML (that, and KaTeX's MathML) or HTML (that,
and what katex.render puts in a page: KaTeX's HTML with its MathML, for `math: {render: build}`). Answers
come from what this KatexService already knows (the dev server keeps one across rebuilds), then from the formula
cache in .primer-cache/ (keyed on the KaTeX version), and last from KaTeX itself: katex_worker.js in one Node
process, started only when something is missing and kept alive for the next build if the caller asks. MathML is
cleaned by an allow-list sanitizer (mathmlsanitizer.py) before anything else sees it. Node and the katex package are
found by katexsetup.py; the Node process is katexworker.py's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from primer_site.diskstore import FORMULAS_FILE, FormulaCache
from primer_site.layout import CACHE_DIR
from primer_site.math.katexsetup import KatexSetup
from primer_site.math.katexworker import KATEX_WORKER_JS, FormulaKey, KatexError, KatexWorker, Macros
from primer_site.math.mathmlsanitizer import MATHML_CLEANER, clean_mathml
from primer_site.salts import library_version

CHECK = "check"  # is the formula valid?
MATHML = "mathml"  # that, and its MathML (for feed readers, which run no JavaScript)
HTML = "html"  # that, and KaTeX's HTML and MathML, as katex.render makes them in a page (render: build)
_MOST = {CHECK: 0, MATHML: 1, HTML: 2}  # what each want includes


@dataclass(frozen=True)
class FormulaResult:
    """KaTeX's answer for one formula: its error message, or None; and its MathML and HTML if they were asked for."""

    error: str | None
    mathml: str | None = None  # the <math> element, cleaned by clean_mathml
    html: str | None = None  # <span class="katex">…</span> (in <span class="katex-display"> for display math)
    fonts: tuple[
        str, ...
    ] = ()  # with the HTML: the fonts it shows text in, KaTeX's woff2 files ("KaTeX_Main-Regular.woff2")

    def answers(self, want: str) -> bool:
        if self.error is not None or want == CHECK:
            return True
        return self.mathml is not None and (want == MATHML or self.html is not None)


class FormulaRequests:
    """Each distinct formula a build asks about, with the most it wants (HTML includes MATHML, which includes CHECK)."""

    def __init__(self) -> None:
        self.macros: dict[str, Macros] = {}  # macros id → the macros
        self.wanted: dict[FormulaKey, str] = {}
        self._ids: dict[Macros, str] = {}

    def macros_id(self, macros: Macros) -> str:
        """A short name for a set of macros, the same in every build and process (a digest of them, in name order:
        KaTeX reads macros as a mapping, so the order they are written in does not change a formula)."""
        found = self._ids.get(macros)
        if found is None:
            found = hashlib.blake2b(json.dumps(sorted(macros)).encode(), digest_size=12).hexdigest()
            self._ids[macros] = found
            self.macros[found] = macros
        return found

    def add(self, tex: str, display: bool, macros_id: str, want: str = CHECK) -> FormulaKey:
        key = (tex, display, macros_id)
        known = self.wanted.get(key)
        if known is None or _MOST[want] > _MOST[known]:
            self.wanted[key] = want
        return key


class KatexService:
    """Answers FormulaRequests from memory, the formula cache and, for what is left, KaTeX under Node.

    `keep_alive`: the Node process stays up between calls (the dev server rebuilds many times in one process);
    otherwise it ends after each call (or each `session`). Either way it is started only when a formula is not
    known yet. `render_fully`: every formula KaTeX is asked about, it renders to HTML too (render: build, where
    the pages will want it: the check and the page's typesetting are then one KaTeX run per formula).
    """

    def __init__(self, setup: KatexSetup, keep_alive: bool = False, render_fully: bool = False) -> None:
        self.setup = setup
        self.keep_alive = keep_alive
        self.render_fully = render_fully
        self.known: dict[FormulaKey, FormulaResult] = {}
        self.asked = 0  # formulas sent to KaTeX, over this service's life
        self._worker: KatexWorker | None = None

    def start(self, site: Path | None) -> None:
        """Start Node now, so that loading KaTeX overlaps other work, if the answers are not kept anywhere:
        nothing known yet and no formula cache for `site` (None: the build uses no cache)."""
        if self.setup.problem or self._worker is not None or self.known:
            return
        if site is None or not (site / CACHE_DIR / FORMULAS_FILE).exists():
            with contextlib.suppress(KatexError):  # said again, with its reason, when formulas are asked for
                self._worker = KatexWorker(self.setup)

    @contextlib.contextmanager
    def session(self) -> Iterator[KatexService]:
        """Keep Node up across the calls made in this block (a build's pages, typeset a batch at a time); it ends
        after, unless the service keeps it alive anyway."""
        kept, self.keep_alive = self.keep_alive, True
        try:
            yield self
        finally:
            self.keep_alive = kept
            if not kept:
                self.close()

    def answer(
        self, requests: FormulaRequests, site: Path | None, complete: bool = False
    ) -> dict[FormulaKey, FormulaResult]:
        """An answer for every request. `site`: the site whose formula cache to use (None: use none).

        `complete`: the requests are every formula of the site, so that answers kept for others are dropped.
        Raises KatexError when KaTeX cannot run and some answer is not known; the version is not checked here.
        """
        if not requests.wanted:
            if not self.keep_alive and not self.render_fully:
                self.close()  # started in vain (but pages typeset at build time will want it)
            return {}
        if self.setup.problem:
            raise KatexError(self.setup.problem)
        results: dict[FormulaKey, FormulaResult] = {}
        missing: list[FormulaKey] = []
        for key, want in requests.wanted.items():
            known = self.known.get(key)
            if known is not None and known.answers(want):
                results[key] = known
            else:
                missing.append(key)
        cache = FormulaCache(site, self.salt()) if site is not None and missing else None
        try:
            if cache is not None:
                pages = [key for key in missing if requests.wanted[key] == HTML]
                stored = dict(cache.get_html(pages))
                others = [key for key in missing if requests.wanted[key] != HTML]
                stored.update(
                    (key, (error, mathml, None, ()))
                    for key, (error, mathml) in cache.get_many(
                        others, {k for k in others if requests.wanted[k] == MATHML}
                    ).items()
                )
                for key, (error, mathml, html, fonts) in stored.items():
                    result = FormulaResult(error, mathml, html, fonts)
                    if result.answers(requests.wanted[key]):
                        results[key] = self.known[key] = result
                missing = [key for key in missing if key not in results]
            fresh = self._ask(missing, requests) if missing else {}
            results.update(fresh)
            self.known.update(fresh)
            if cache is not None and fresh:
                cache.put_many(((key, r.error, r.mathml) for key, r in fresh.items()))
                cache.put_html((key, r.html, r.fonts) for key, r in fresh.items() if r.html is not None)
                if complete:
                    cache.keep_only(requests.wanted)
        finally:
            if cache is not None:
                cache.close()
            if not self.keep_alive:
                self.close()
        if complete and fresh:
            self.known = {key: result for key, result in self.known.items() if key in requests.wanted}
        return results

    def salt(self) -> str:
        """What KaTeX's answers depend on besides the formula: KaTeX, our worker, the MathML allow-list."""
        return f"katex={self.setup.version};{_worker_and_cleaner_digest()}"

    def _ask(self, keys: list[FormulaKey], requests: FormulaRequests) -> dict[FormulaKey, FormulaResult]:
        if self._worker is None or not self._worker.alive():
            self._worker = KatexWorker(self.setup)
        self.asked += len(keys)
        wants = {key: HTML if self.render_fully else requests.wanted[key] for key in keys}
        try:
            answers = self._worker.ask(keys, requests.macros, wants)
        except KatexError:
            self.close()
            raise
        return {
            key: FormulaResult(error, clean_mathml(mathml) if mathml is not None else None, html, fonts)
            for key, (error, mathml, html, fonts) in answers.items()
        }

    def close(self) -> None:
        """End the Node process, if one runs (the service starts another if asked again)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None


@lru_cache(maxsize=1)
def _worker_and_cleaner_digest() -> str:
    digest = hashlib.blake2b(KATEX_WORKER_JS.read_bytes(), digest_size=8)
    digest.update(json.dumps(MATHML_CLEANER, default=sorted, sort_keys=True).encode())  # sets as sorted lists
    return f"worker+cleaner={digest.hexdigest()};nh3={library_version('nh3')}"
