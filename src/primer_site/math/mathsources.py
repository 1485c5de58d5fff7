"""What the math check reads, file by file, and the verdicts it keeps from one build to the next.

Each post and series file becomes a MathSource: its formulas (read from its body, or from the body cache only when
its verdict cannot be reused), its macros, its stray dollars, and its identity (a digest of all its verdict
depends on but KaTeX and primer-site's code). The verdicts are kept in memory by the dev server (CheckMemo) and on
disk from one build in a new process to the next (recall_verdicts, keep_verdicts: diskstore.VerdictTable).
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from primer_site.diskstore import VerdictTable
from primer_site.errors import Diagnostic
from primer_site.frozen import maker
from primer_site.layout import CONFIG_FILE
from primer_site.sources.config import SiteConfig
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import Macros, PostMacros, SeriesMeta, SeriesNames, post_macros, series_macros
from primer_site.syntax.inline import formulas_in
from primer_site.syntax.markdown import Formula, RenderedBody, render_body


@dataclass(frozen=True)
class MathSource:
    """The formulas of one file, and the macros its pages give KaTeX."""

    source: str
    formulas: tuple[Formula, ...]
    macros: Macros = ()
    stray_dollars: tuple[tuple[int, int], ...] = ()
    macro_homes: tuple[str, ...] = ()  # where its macros can be defined, for a message: "series/x.md 'macros:'"
    # a digest of all the verdict depends on but KaTeX and primer-site's code, made without reading the formulas
    # of a post's body (its key in the body cache stands for them): "" where none is kept on disk
    identity: str = ""


class StoredFormulas(Protocol):
    """Where the formulas of bodies taken from the body cache without them are (bodies.StoredFormulas)."""

    salt: str  # what else than its key a body's formulas depend on (the renderer's code and settings)

    def key_of(self, document: Document) -> str | None: ...

    def formulas(self, keys: list[str]) -> dict[str, tuple[Formula, ...]]: ...


class CheckMemo:
    """The check's verdicts file by file, kept by a caller that builds again and again (the dev server), or on
    disk from one build in a new process to the next (recall_verdicts, keep_verdicts).

    A file whose formulas, stray dollars and macros equal those last checked, by the same KaTeX, gets the same
    verdict: it is not asked about again, so an edit costs the check its own file's formulas, not the site's.
    On disk a verdict is kept with its file's identity (MathSource.identity): a post whose identity is the one
    kept is not asked about, and its body's formulas are not even read (`store`: where they are, for the others).
    """

    def __init__(self, store: StoredFormulas | None = None) -> None:
        self.katex_version: str | None = None
        self.store = store
        # by its document's path: (document, body, the site's macros, its series file, its macros, what was read)
        self.sources: dict[str, tuple[Document, RenderedBody, Macros, SeriesMeta | None, Macros, MathSource]] = {}
        self.verdicts: dict[str, tuple[MathSource, tuple[Diagnostic, ...]]] = {}  # source path → last verdict
        self.recalled: dict[str, MathSource] = {}  # what the verdicts read from disk were given for


def recall_verdicts(site: Path, salt: str, katex_version: str | None, store: StoredFormulas) -> CheckMemo:
    """The verdicts the last checked build of `site` kept under the KaTeX of `salt` (KatexService.salt), as a
    memo for this build: each stands for the MathSource of its identity, whose formulas are left unread."""
    memo = CheckMemo(store)
    memo.katex_version = katex_version
    table = VerdictTable(site, salt)
    try:
        rows = table.load()
    finally:
        table.close()
    make = _placeholder_maker()  # one a post: no frozen __init__, nor a dict of its fields merged into a copy
    for path, (identity, problems) in rows.items():
        try:
            # only a true empty list is "no problems": a damaged row's null, 0 or false must fail as any other
            found = (
                ()
                if problems == []
                else tuple(Diagnostic(path, int(a), int(b), str(c), str(d)) for a, b, c, d in problems)
            )
        except (ValueError, TypeError):
            continue  # a damaged row: that file is checked again
        placeholder = make(path, identity)
        memo.verdicts[path] = (placeholder, found)
        memo.recalled[path] = placeholder
    return memo


@cache
def _placeholder_maker() -> Callable[[str, str], MathSource]:
    """A MathSource of a file's path and identity, no formulas (not read), every other field the class's default:
    frozen.maker's, made when a build first recalls verdicts."""
    make = maker(MathSource)
    fields = dataclasses.fields(MathSource)
    assert [fields[0].name, fields[1].name, fields[-1].name] == ["source", "formulas", "identity"]
    between = tuple(field.default for field in fields[2:-1])
    return lambda path, identity: make(path, (), *between, identity)


def keep_verdicts(site: Path, salt: str, memo: CheckMemo, paths: Collection[str]) -> None:
    """Keep on disk the verdicts `memo` holds that this build made (those with an identity), for the next build
    in a new process; those of files not among `paths` (the files checked) are dropped."""
    new = [
        (path, source.identity, [[d.line, d.column, d.severity, d.message] for d in found])
        for path, (source, found) in memo.verdicts.items()
        if source.identity and memo.recalled.get(path) is not source
    ]
    if not new and set(memo.recalled) <= set(paths):
        return
    table = VerdictTable(site, salt)
    try:
        table.keep(new, set(paths))
    finally:
        table.close()


def formulas_of(document: Document, body: RenderedBody, config: SiteConfig) -> tuple[Formula, ...]:
    """The formulas of `document`'s body, with their lines and columns in its file. A body from the cache comes
    without them unless the build checks math: it is rendered again then, with the site's `raw_html` as the page's
    was (without raw HTML, a formula inside what would be an HTML block is a formula, with it it is not)."""
    if body.formulas or not body.has_math:
        return body.formulas
    return render_body(document.body, document.source, document.body_first_line, config.raw_html).formulas


def math_sources(
    config: SiteConfig,
    documents: Sequence[Document],
    bodies: Sequence[RenderedBody],
    metas: Sequence[SeriesMeta],
    series_bodies: Sequence[RenderedBody],
    drafts: bool = False,
    memo: CheckMemo | None = None,
) -> list[MathSource]:
    """What the check reads: each post (scheduled ones too: they go live with no one watching) and series file.

    `memo`: a post whose document and body are the very objects of the last build, under the same macros, keeps
    its MathSource (the same object, which makes the check's comparison of it cheap). Its macros are merged again
    only when the site's macros or its series file are other objects than last time (a preview's rebuild meets
    every post: the merge is most of what it would cost)."""
    found: list[MathSource] = []
    names = SeriesNames(metas)
    kept = memo.sources if memo is not None else {}
    store = memo.store if memo is not None else None
    verdicts = memo.verdicts if store is not None else {}  # type: ignore[union-attr]
    keeping: dict[str, tuple[Document, RenderedBody, Macros, SeriesMeta | None, Macros, MathSource]] = {}
    # posts whose formulas are read from the store, in one query: (place in `found`, body key, ...)
    unread: list[tuple[int, str, Document, RenderedBody, Macros, SeriesMeta | None, tuple[str, ...], str]] = []
    homes_of: dict[str | None, tuple[str, ...]] = {}  # by the series file's path
    merged = PostMacros(config.macros)  # each post's macros, merged once per series file for most posts
    # what every post of one series file (and macros) has in its identity, digested once: by id of those macros,
    # which the entry holds (the very tuple PostMacros gives each post with no macros of its own)
    prefixes: dict[tuple[int, str | None], tuple[Macros, hashlib._Hash]] = {}
    for document, body in zip(documents, bodies, strict=True):
        if document.draft and not drafts:
            continue
        meta = names.meta_of(document.series)
        known = kept.get(document.source)
        if known is not None and known[0] is document and known[1] is body:
            if known[2] is config.macros and known[3] is meta:
                keeping[document.source] = known
                found.append(known[5])
                continue
            if known[4] == (macros := post_macros(config.macros, meta, document)):
                keeping[document.source] = (document, body, config.macros, meta, macros, known[5])
                found.append(known[5])
                continue
        macros = merged(meta, document)
        homes = homes_of.get(where := meta.source if meta else None)
        if homes is None:  # one per series file, not one per post
            homes = homes_of[where] = (SITE_MACROS, *([f"{meta.source} 'macros:'"] if meta else []), _FRONT_MACROS)
        identity = ""
        if store is not None and (key := store.key_of(document)) is not None:
            prefix = prefixes.get((id(macros), where))
            if prefix is None:
                prefix = prefixes[(id(macros), where)] = (macros, _identity_prefix(store.salt, macros, homes))
            identity = _post_identity(prefix[1], key, _front(document), body.stray_dollars)
            last = verdicts.get(document.source)
            if last is not None and last[0].identity == identity:  # checked as it is: its formulas stay unread
                keeping[document.source] = (document, body, config.macros, meta, macros, last[0])
                found.append(last[0])
                continue
            if not body.formulas and body.has_math:  # from the cache without them: read below, in one query
                unread.append((len(found), key, document, body, macros, meta, homes, identity))
                found.append(MathSource(document.source, ()))  # its place, filled below
                continue
        front = _front_formulas(document)
        made = MathSource(document.source, (*front, *body.formulas), macros, body.stray_dollars, homes, identity)
        keeping[document.source] = (document, body, config.macros, meta, macros, made)
        found.append(made)
    if unread:
        stored = store.formulas([key for _, key, *_ in unread])  # type: ignore[union-attr]
        for place, key, document, body, macros, meta, homes, identity in unread:
            formulas = stored[key] if key in stored else formulas_of(document, body, config)
            front = _front_formulas(document)
            made = MathSource(document.source, (*front, *formulas), macros, body.stray_dollars, homes, identity)
            keeping[document.source] = (document, body, config.macros, meta, macros, made)
            found[place] = made
    if memo is not None:
        memo.sources = keeping
    for meta, body in zip(metas, series_bodies, strict=True):
        macros = series_macros(config.macros, meta)
        title = [Formula(tex, False, meta.line_of("title"), 0) for tex, _ in formulas_in(meta.title, title=True)]
        homes = (SITE_MACROS, *([f"{meta.source} 'macros:'"] if meta.kind == "series" else []))
        made = MathSource(meta.source, (*title, *body.formulas), macros, body.stray_dollars, homes)
        if store is not None:  # a series' description comes with its formulas: they are its identity
            written = [(f.tex, f.display, f.line, f.column) for f in made.formulas]
            identity = _identity("", "", meta.source, written, macros, body.stray_dollars, homes)
            last = verdicts.get(meta.source)
            made = last[0] if last is not None and last[0].identity == identity else _identified(made, identity)
        found.append(made)
    return found


def _front_formulas(document: Document) -> list[Formula]:
    """The formulas of a post's title and summary, at their keys' lines."""
    return [
        Formula(tex, display, document.line_of(key), 0)
        for key, text, title in (("title", document.title, True), ("summary", document.summary, False))
        if text
        for tex, display in formulas_in(text, title=title)
    ]


def _identified(source: MathSource, identity: str) -> MathSource:
    return MathSource(source.source, source.formulas, source.macros, source.stray_dollars, source.macro_homes, identity)


def _front(document: Document) -> tuple[str, str, str | None, int, int]:
    """What the formulas of a post's title and summary are made of (_front_formulas), without parsing them."""
    return document.source, document.title, document.summary, document.line_of("title"), document.line_of("summary")


def _identity(salt: str, key: str, *rest: object) -> str:
    """A digest of what a file's verdict depends on (a series file's: a post's is _post_identity's): the `rest`
    (where the file is, what else it writes math in, its macros, stray dollars and macros' homes); `salt` and `key`
    as a post's are ("" for a file whose formulas are read from its text). KaTeX and primer-site's own code are the
    verdicts' table's salt."""
    return hashlib.blake2b(_plain_bytes((salt, key, *rest)), digest_size=16).hexdigest()


def _plain_bytes(value: tuple) -> bytes:
    """The bytes an identity digests of `value`, plain data only (str, int, bool, None, in tuples and lists: marshal
    refuses a subclass of str or tuple, a dataclass or a datetime with ValueError; turn such a value into plain data
    before it comes here). marshal's format 2 (no back-references, which would follow the objects' reference counts):
    the same bytes for the same values in every process, made in C; a tuple's bytes say its length, so that two in a
    row read back one way only."""
    return marshal.dumps(value, 2)


def _identity_prefix(salt: str, macros: Macros, homes: tuple[str, ...]) -> hashlib._Hash:
    """The digest, begun, of what the identities of a series' posts share: their body cache's `salt`, their macros
    and the macros' homes (each post's own part is _post_identity's): worked out once a series, not once a post."""
    return hashlib.blake2b(_plain_bytes((salt, macros, homes)), digest_size=16)


def _post_identity(prefix: hashlib._Hash, key: str, front: tuple, stray_dollars: tuple) -> str:
    """A post's identity: the shared `prefix` (_identity_prefix) followed by what is the post's own, its body's
    cache `key`, its title and summary (`front`: _front) and its stray dollars, each part _plain_bytes."""
    digest = prefix.copy()
    digest.update(_plain_bytes((key, front, stray_dollars)))
    return digest.hexdigest()


SITE_MACROS = f"{CONFIG_FILE} 'macros:'"  # where the site's macros are defined, for a message
_FRONT_MACROS = "the post's front matter 'macros:'"
