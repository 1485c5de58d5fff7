"""The pinned KaTeX as primer-site's one math engine: formulas checked and rendered under Node, answers kept.

A build asks about each distinct formula once, as a key (TeX, display or inline, the macros in force) and what
it wants: CHECK (does KaTeX accept it, and if not, its message), MATHML (that, and KaTeX's MathML) or HTML (that,
and what katex.render puts in a page: KaTeX's HTML with its MathML, for `math: {render: build}`). Answers
come from what this KatexService already knows (the dev server keeps one across rebuilds), then from the formula
cache in .primer-cache/ (keyed on the KaTeX version), and last from KaTeX itself: katex_worker.js in one Node
process, started only when something is missing and kept alive for the next build if the caller asks. MathML is
cleaned by an allow-list sanitizer (nh3, Rust's ammonia) before anything else sees it.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import selectors
import shutil
import subprocess
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import nh3

from primer_site.diskstore import FORMULAS_FILE, FormulaCache
from primer_site.layout import CACHE_DIR
from primer_site.sources.config import KATEX_VERSION

KATEX_WORKER_JS = Path(__file__).with_name("katex_worker.js")
TIMEOUT = 600.0  # seconds for one batch: KaTeX takes about 40 ms per thousand distinct formulas

CHECK = "check"  # is the formula valid?
MATHML = "mathml"  # that, and its MathML (for feed readers, which run no JavaScript)
HTML = "html"  # that, and KaTeX's HTML and MathML, as katex.render makes them in a page (render: build)
_MOST = {CHECK: 0, MATHML: 1, HTML: 2}  # what each want includes

Macros = tuple[tuple[str, str], ...]
FormulaKey = tuple[str, bool, str]  # (TeX, display, id of its macros: FormulaRequests.macros_id)


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


@dataclass(frozen=True)
class KatexSetup:
    """Where Node.js and the katex package are, and the package's version: found without starting Node."""

    node: str | None
    katex: Path | None  # the package folder, node_modules/katex
    version: str | None  # from its package.json

    @property
    def problem(self) -> str | None:
        """Why KaTeX cannot run here (katex_advice), or None."""
        advice = katex_advice(self, pinned=False)
        return advice[0] if advice else None


def npm_install(where: str = "the site folder") -> str:
    """The step that installs the KaTeX the pages load."""
    return f"run `npm install katex@{KATEX_VERSION}` in {where}"


def katex_advice(
    setup: KatexSetup, where: str = "the site folder", *, node: bool = True, pinned: bool = True
) -> tuple[str, str] | None:
    """(what is missing, what to install) for the KaTeX the pages load to run here, or None when it can: the one
    wording of that advice. `where`: the folder to run npm in; `node`: Node.js is needed (not to copy KaTeX's
    files); `pinned`: only KATEX_VERSION will do. npm does not install Node.js, so each gets its own step."""
    npm = npm_install(where)
    if node and not setup.node:
        why = "Node.js (node) is not installed"
        return why, (
            "install Node.js 18 or later (Debian and Ubuntu: `sudo apt-get install nodejs npm`; elsewhere: "
            f"https://nodejs.org/; npm does not install it), then {npm}"
        )
    if setup.katex is None:
        return "the katex npm package was not found (beside site.yaml, in a folder above it, or on NODE_PATH)", npm
    if setup.version is None:
        return f"{setup.katex}/package.json gives no version", f"install it again: {npm}"
    if pinned and setup.version != KATEX_VERSION:
        return f"the katex package found is version {setup.version} ({setup.katex})", npm
    return None


def locate_katex(site: Path, node: str | None = None) -> KatexSetup:
    """Node on PATH (or `node`), and the katex package as find_katex finds it for `site`."""
    node = node if node is not None else (shutil.which("node") or shutil.which("nodejs"))
    katex = find_katex(site)
    version = None
    if katex is not None:
        try:
            version = str(json.loads((katex / "package.json").read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError, TypeError):
            version = None
    return KatexSetup(node, katex, version)


def find_katex(site: Path) -> Path | None:
    """node_modules/katex beside the site or primer-site (or a folder above either, as Node looks), or NODE_PATH."""
    folders: list[Path] = []
    for start in (site.resolve(), Path(__file__).resolve().parent):
        folders += [folder / "node_modules" for folder in (start, *start.parents)]
    folders += [Path(entry) for entry in os.environ.get("NODE_PATH", "").split(os.pathsep) if entry]
    for folder in folders:
        if (folder / "katex" / "package.json").is_file():
            return folder / "katex"
    return None


class KatexError(Exception):
    """KaTeX cannot run here, or did not answer: the reason, in words for the person building the site."""


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
        self._worker: _Worker | None = None

    def start(self, site: Path | None) -> None:
        """Start Node now, so that loading KaTeX overlaps other work, if the answers are not kept anywhere:
        nothing known yet and no formula cache for `site` (None: the build uses no cache)."""
        if self.setup.problem or self._worker is not None or self.known:
            return
        if site is None or not (site / CACHE_DIR / FORMULAS_FILE).exists():
            with contextlib.suppress(KatexError):  # said again, with its reason, when formulas are asked for
                self._worker = _Worker(self.setup)

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
            self._worker = _Worker(self.setup)
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


class _Worker:
    """katex_worker.js under Node: batches of JSON lines in, one answer line per formula out."""

    def __init__(self, setup: KatexSetup) -> None:
        self.setup = setup
        try:
            self.process = subprocess.Popen(
                [str(setup.node), str(KATEX_WORKER_JS), str(setup.katex)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise KatexError(f"could not run {setup.node}: {exc.strerror}") from None
        # a build that fails before asking, or a caller that forgets to close, must not leave Node waiting
        self._finalizer = weakref.finalize(self, _stop, self.process)
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        self._lines: collections.deque[bytes] = collections.deque()  # read, not yet taken
        self._partial = b""  # the start of a line not yet read whole
        self._defined: set[str] = set()  # macros ids this process knows
        self._next = 0
        self._greeted = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(
        self, keys: list[FormulaKey], macros: dict[str, Macros], wants: dict[FormulaKey, str]
    ) -> dict[FormulaKey, tuple[str | None, str | None, str | None, tuple[str, ...]]]:
        """(error, MathML or None, HTML or None, its fonts) for each key, as `wants` says: KaTeX's own, not yet
        cleaned."""
        deadline = time.monotonic() + TIMEOUT
        if not self._greeted:
            greeting = self._read_line(deadline)
            version = greeting.get("katex")
            if version != self.setup.version:
                raise KatexError(
                    f"{self.setup.katex} says it is KaTeX {version}, but its package.json says {self.setup.version}"
                )
            self._greeted = True
        lines = []
        for macros_id in {key[2] for key in keys} - self._defined:
            lines.append(json.dumps({"macros": macros_id, "define": dict(macros[macros_id])}))
            self._defined.add(macros_id)
        first = self._next
        for number, (tex, display, macros_id) in enumerate(keys, start=first):
            want = wants[(tex, display, macros_id)]
            lines.append(json.dumps({"id": number, "tex": tex, "display": display, "macros": macros_id, "want": want}))
        self._next = first + len(keys)
        lines.append(json.dumps({"sync": self._next}))
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        # written from a thread: Node answers while it reads, and a full pipe either way must not stall both
        writer = threading.Thread(target=self._write, args=(data,), daemon=True)
        writer.start()
        answers: dict[FormulaKey, tuple[str | None, str | None, str | None, tuple[str, ...]]] = {}
        while True:
            answer = self._read_line(deadline)
            if answer.get("sync") == self._next:
                break
            number = int(answer["id"]) - first
            if not 0 <= number < len(keys):
                raise KatexError(f"KaTeX answered a formula it was not asked about ({answer['id']})")
            fonts = tuple(str(font) for font in answer.get("fonts", ()))
            answers[keys[number]] = (answer.get("error"), answer.get("mathml"), answer.get("html"), fonts)
        writer.join()
        if len(answers) != len(keys):
            raise KatexError(f"KaTeX answered {len(answers)} of {len(keys)} formulas")
        return answers

    def _write(self, data: bytes) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # Node ended: the reader says why

    def _read_line(self, deadline: float) -> dict:
        stdout = self.process.stdout
        assert stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while not self._lines:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    _stop(self.process)
                    raise KatexError(f"KaTeX took more than {TIMEOUT:.0f} s")
                chunk = os.read(stdout.fileno(), 1 << 16)
                if not chunk:
                    self.process.wait()
                    self._stderr_reader.join(timeout=5)  # what Node said before it ended
                    detail = self._stderr[-1] if self._stderr else f"exit status {self.process.returncode}"
                    raise KatexError(f"KaTeX could not run under {self.setup.node}: {detail}")
                *lines, self._partial = (self._partial + chunk).split(b"\n")
                self._lines.extend(lines)
        line = self._lines.popleft()
        try:
            return json.loads(line)
        except ValueError:
            raise KatexError(f"KaTeX wrote what is not an answer: {line[:200]!r}") from None

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            text = line.decode("utf-8", "replace").strip()
            if text:
                self._stderr.append(text)

    def close(self) -> None:
        self._finalizer()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Close Node's input (it then ends by itself) and wait for it; kill it if it does not end soon."""
    try:
        if process.stdin is not None:
            process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------------------------- the sanitizer

MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"

# What KaTeX's MathML builder makes (its mathMLTree.MathNodeType) but <mglyph>, which only \includegraphics
# makes, with a src URL, and only when trusted: primer-site never trusts TeX.
MATHML_ELEMENTS = frozenset({
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "mover", "munder",
    "munderover", "msup", "msub", "msubsup", "mfrac", "mroot", "msqrt", "mtable", "mtr", "mtd", "mlabeledtr",
    "menclose", "mstyle", "mpadded", "mphantom",
})  # fmt: skip
# The presentation attributes KaTeX sets (its MathML builders' setAttribute calls), none of them a URL.
MATHML_ATTRIBUTES = frozenset({
    "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "depth", "displaystyle", "fence",
    "height", "largeop", "linebreak", "linethickness", "lspace", "mathbackground", "mathcolor", "mathsize",
    "mathvariant", "maxsize", "minsize", "notation", "rowlines", "rowspacing", "rspace", "scriptlevel", "separator",
    "stretchy", "style", "voffset", "width",
})  # fmt: skip
_CLEANER = {
    "tags": set(MATHML_ELEMENTS),
    "attributes": {"*": set(MATHML_ATTRIBUTES), "math": {"display"}, "annotation": {"encoding"}},
    "tag_attribute_values": {"math": {"xmlns": {MATHML_NAMESPACE}}},
    # KaTeX's own classes, for its stylesheet: \vcenter, and the glue and number cells of numbered rows
    "allowed_classes": {"mpadded": {"vcenter"}, "mtd": {"mtr-glue", "mml-eqn-num"}},
    # the only styles KaTeX writes: \fcolorbox's border and \pmb's shadow
    "filter_style_properties": {"border", "text-shadow"},
    "url_schemes": set(),
    "link_rel": None,
    "strip_comments": True,
}


def clean_mathml(markup: str) -> str:
    """MathML with only KaTeX's elements and attributes left (no script, handler, URL or foreign element).

    nh3 parses it as an HTML parser does (html5ever), so what it keeps is what a feed reader will see.
    """
    return nh3.clean(markup, **_CLEANER)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def _worker_and_cleaner_digest() -> str:
    digest = hashlib.blake2b(KATEX_WORKER_JS.read_bytes(), digest_size=8)
    digest.update(json.dumps(_CLEANER, default=sorted, sort_keys=True).encode())  # sets as sorted lists
    return f"worker+cleaner={digest.hexdigest()};nh3={_version_of('nh3')}"


def _version_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"
