"""The kinds of theorem-like block (`::: theorem`, `::: proof`…) and how a site or series numbers them.

`theorems:` in site.yaml or a series file: `{kinds: {assumption: {label: asm, name: Assumption}}, counter:
shared|per-kind, solutions: inline|end-of-chapter}`. The built-in kinds and label prefixes are those of
amsthm's usual set as Quarto names them (def:, thm:, lem:…); plain data here, read by the Markdown stage
(theorems.py) and numbered by references.number_labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from primer_site.lazyregex import lazy_compile
from primer_site.sources.yamldoc import describe
from primer_site.sources.yamltext import TEXT, TextShape


@dataclass(frozen=True)
class TheoremKind:
    """One kind of block: `::: theorem` has the label prefix "thm" and reads "Theorem 3.2"."""

    kind: str  # "theorem"
    label: str  # "thm": labels are "thm:shift"; "" for a kind that takes no label (proof, solution)
    name: str  # "Theorem"
    counter: str  # which counter numbers it: "shared", "exercise", or "" for none (proof, solution)


BUILT_IN = (
    TheoremKind("definition", "def", "Definition", "shared"),
    TheoremKind("theorem", "thm", "Theorem", "shared"),
    TheoremKind("lemma", "lem", "Lemma", "shared"),
    TheoremKind("proposition", "prp", "Proposition", "shared"),
    TheoremKind("corollary", "cor", "Corollary", "shared"),
    TheoremKind("example", "exm", "Example", "shared"),
    TheoremKind("remark", "rem", "Remark", "shared"),
    TheoremKind("exercise", "exr", "Exercise", "exercise"),
    TheoremKind("solution", "", "Solution", ""),
    TheoremKind("proof", "", "Proof", ""),
)
# `theorems:` as text wherever YAML would read another type (a name "Yes", a label "no")
THEOREMS_TEXT: TextShape = {"kinds": {"*": {"label": TEXT, "name": TEXT}}, "counter": TEXT, "solutions": TEXT}
COUNTERS = ("shared", "per-kind")
SOLUTIONS = ("inline", "end-of-chapter")
_WORD = lazy_compile(r"[a-z][a-z0-9-]*")


@dataclass(frozen=True)
class TheoremSettings:
    """The kinds a page may use, and how they are numbered (hashable: part of a body's cache key)."""

    kinds: tuple[TheoremKind, ...] = BUILT_IN
    counter: str = "shared"  # one of COUNTERS
    solutions: str = "inline"  # one of SOLUTIONS

    def kind(self, name: str) -> TheoremKind | None:
        return next((k for k in self.kinds if k.kind == name), None)

    def counter_of(self, kind: TheoremKind) -> str:
        """The name of the counter that numbers `kind` ("" for none): exercises always have their own."""
        if not kind.counter or kind.counter == "exercise" or self.counter == "shared":
            return kind.counter
        return kind.kind

    @property
    def names(self) -> str:
        """ "definition, theorem, …": for the message about an unknown kind."""
        return ", ".join(k.kind for k in self.kinds)

    @property
    def key(self) -> str:
        """A text that differs whenever the numbering or the rendering differs (for the body cache)."""
        kinds = ";".join(f"{k.kind},{k.label},{k.name},{k.counter}" for k in self.kinds)
        return f"{kinds}|{self.counter}|{self.solutions}"


DEFAULT = TheoremSettings()


def parse_theorem_settings(
    value: object, bad: Callable[[str], None], base: TheoremSettings = DEFAULT
) -> TheoremSettings:
    """`theorems:` of site.yaml (over the defaults) or of a series file (over the site's): problems go to `bad`."""
    if not isinstance(value, dict):
        bad("expected {kinds: {…}, counter: shared|per-kind, solutions: inline|end-of-chapter}")
        return base
    kinds = list(base.kinds)
    counter, solutions = base.counter, base.solutions
    for key, item in value.items():
        if key == "counter":
            if item in COUNTERS:
                counter = str(item)
            else:
                bad(f"counter: {describe(item)} is not shared or per-kind")
        elif key == "solutions":
            if item in SOLUTIONS:
                solutions = str(item)
            else:
                bad(f"solutions: {describe(item)} is not inline or end-of-chapter")
        elif key == "kinds":
            kinds = _kinds(item, kinds, bad)
        else:
            bad(f"unknown key {describe(key)} (theorems: {{kinds, counter, solutions}})")
    return TheoremSettings(tuple(kinds), counter, solutions)


def _kinds(value: object, kinds: list[TheoremKind], bad: Callable[[str], None]) -> list[TheoremKind]:
    if not isinstance(value, dict):
        bad("kinds: expected a mapping such as {assumption: {label: asm, name: Assumption}}")
        return kinds
    for name, item in value.items():
        label = item.get("label") if isinstance(item, dict) else None
        title = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not _WORD.fullmatch(name):
            bad(f"kinds: {describe(name)} is not a kind's name (lower-case letters, digits, '-')")
        elif not isinstance(item, dict) or set(item) - {"label", "name"}:
            bad(f"kinds: {name}: expected {{label: prefix, name: Name}}")
        elif not isinstance(label, str) or not _WORD.fullmatch(label):
            bad(f"kinds: {name}: label {describe(label)} is not a label prefix (such as asm, for {{#asm:…}})")
        elif not isinstance(title, str) or not title.strip():
            bad(f"kinds: {name}: name {describe(title)} is not the text its number follows (such as Assumption)")
        elif any(k.label == label and k.kind != name for k in kinds):
            other = next(k.kind for k in kinds if k.label == label)
            bad(f"kinds: {name}: label prefix {label!r} is already {other}'s")
        else:
            kinds = [k for k in kinds if k.kind != name] + [TheoremKind(name, label, title.strip(), "shared")]
    return kinds
