"""The keys that site.yaml, a series file and a post's front matter share (`macros:`, `books:`, `authors:`,
`bibliography:`), each read and checked one way for all three; and `suggest`, the "did you mean" of every
misspelt key. Each reader takes the YAML value and `bad(message)`, which reports a value it refuses."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from primer_site.errors import Problems
from primer_site.lazyregex import lazy_compile
from primer_site.model import BOOK_FORMS
from primer_site.sources.yamldoc import YamlMapping, describe
from primer_site.sources.yamltext import TEXT, TextShape

MACROS_TEXT: TextShape = {"*": TEXT}  # TeX macro names and their TeX (or {tex, means, defined}: see parse_macros)


_MACRO_NAME = lazy_compile(r"\\?([A-Za-z]+|[^A-Za-z\s])")


def suggest(word: str, known: list[str]) -> str:
    """' (did you mean "x"?)' for the nearest known word, or ''."""
    import difflib  # a misspelling's suggestion only: a build that meets none never loads it

    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def warn_unknown_keys(mapping: YamlMapping, known: list[str], path: str, problems: Problems) -> None:
    """A warning at each top-level key of `mapping` that is not in `known`, with the nearest known key: a
    misspelt key is ignored, never silently (a post's front matter, a series file)."""
    for key in mapping.data:
        if key not in known:
            problems.warning(f"unknown key {key!r}{suggest(key, known)}", path, mapping.line_of(key))


def parse_macros(value: object, bad: Any) -> tuple[tuple[str, str], ...]:
    """`{E: \\mathbb{E}, \\KL: D_{\\mathrm{KL}}}` → ((r"\\E", r"\\mathbb{E}"), …): names get their backslash."""
    if not isinstance(value, dict):
        bad("expected a mapping of TeX macros, such as {\\E: \\mathbb{E}}")
        return ()
    macros = []
    for name, expansion in value.items():
        match = _MACRO_NAME.fullmatch(name) if isinstance(name, str) else None
        if not match:
            bad(f"{describe(name)} is not a TeX macro name (a backslash and letters, such as \\E)")
        elif isinstance(expansion, dict):  # {tex: …, means: …, defined: ch02.md#…}: for the notation page
            unknown = sorted(str(k) for k in expansion if k not in ("tex", "means", "defined"))
            if unknown or not isinstance(expansion.get("tex"), str):
                bad(f"{name}: expected {{tex: its TeX, means: what it is, defined: ch02.md#where}}")
            elif not all(isinstance(expansion.get(k, ""), str) for k in ("means", "defined")):
                bad(f"{name}: means and defined are text")
            else:
                macros.append(("\\" + match.group(1), expansion["tex"]))
        elif not isinstance(expansion, str):
            bad(f"{name}: expected the TeX it stands for, got {describe(expansion)}")
        else:
            macros.append(("\\" + match.group(1), expansion))
    return tuple(macros)


def merge_macros(*layers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Macros of the site, then of a series: a later layer's definition of a name wins."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return tuple(merged.items())


def parse_books(value: object, bad: Any) -> tuple[tuple[str, bool], ...]:
    """`books: {epub: true, pdf: false}` in site.yaml or a series file → (("epub", True), ("pdf", False)): the
    forms it names, as written (a series file's are read over the site's, Books.over). `bad(message)` reports a
    value that is not a mapping, a key that is not one of BOOK_FORMS, or a value that is not true or false."""
    known = ", ".join(BOOK_FORMS)
    if not isinstance(value, dict):
        bad(f"expected a mapping such as {{epub: true, pdf: true}} (keys: {known}), got {describe(value)}")
        return ()
    settings = []
    for key, item in value.items():
        if key not in BOOK_FORMS:
            bad(f"unknown key {describe(key)}{suggest(str(key), list(BOOK_FORMS))} (known keys: {known})")
        elif not isinstance(item, bool):
            bad(f"{key}: expected true or false, got {describe(item)}")
        else:
            settings.append((key, item))
    return tuple(settings)


def author_names(value: object, bad: Any) -> tuple[str, ...]:
    """`authors:` in site.yaml, a series file or a post: one name or a list ("Given Family" or "Family, Given")."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
        bad("expected an author's name, or a list of names")
        return ()
    return tuple(i.strip() for i in items)


def bibliography_paths(value: object, owner: str, bad) -> tuple[str, ...]:
    """The site-relative paths a `bibliography:` value names (one path or a list), each relative to `owner`, the
    site-relative path of the file it is written in; `bad(message)` reports a value that is not such."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
        bad("expected a .bib file's path, or a list of them (relative to this file)")
        return ()
    paths = []
    folder = PurePosixPath(owner).parent
    for item in items:
        parts: list[str] = []
        for part in (folder / item.strip()).parts:
            if part == "..":
                if not parts:
                    bad(f"{item!r} is outside the site's folder")
                    return ()
                parts.pop()
            elif part not in (".", ""):
                parts.append(part)
        if item.strip().startswith("/"):
            bad(f"{item!r}: write a path relative to this file")
            return ()
        paths.append("/".join(parts))
    return tuple(dict.fromkeys(paths))
