"""Theorem-like blocks: `::: theorem {#thm:shift} Shift invariance` … `:::`, and proofs, exercises, solutions.

Written as the admonitions are (mdit-py-plugins' container), with the label syntax of figures (pandoc's
attributes in braces). This module reads each block's kind, attributes and title and renders it; the numbers
("Theorem 3.2") are given by references.number_labels, with the equations' and figures'. The kinds a page may
use and how they are counted come in `env["theorems"]` (theoremkinds.TheoremSettings).

HTML, for `::: theorem {#thm:shift} Shift invariance` in chapter 3:
`<div class="theorem-like theorem" id="thm:shift"><p class="theorem-head"><span class="theorem-name">Theorem
3.2</span> <span class="theorem-title">(Shift invariance)</span>.</p>…</div>`; a folded proof or solution is a
`<details>` whose `<summary>` is the head, naming its target plainly (`<span class="theorem-target">`: no link
inside the summary, itself a control), with the link to the target as the body's first paragraph
(`<p class="theorem-target-link">`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.attrs.parse import ParseError
from mdit_py_plugins.attrs.parse import parse as parse_attributes
from mdit_py_plugins.container import container_plugin

from primer_site.lazyregex import lazy_compile
from primer_site.sources.sharedkeys import suggest
from primer_site.sources.theoremkinds import DEFAULT, TheoremSettings

OPEN, CLOSE = "container_theorem_open", "container_theorem_close"
HEAD_OPEN, HEAD_CLOSE = "theorem_head_open", "theorem_head_close"
_KIND = re.compile(r"[a-z][a-z0-9-]*")
_ATTRIBUTES = lazy_compile(r"\{[^{}]*\}")
SOLUTIONS_ID = "end-solutions"


def solution_id(exercise: str) -> str:
    """The id of the solution to exercise `exercise` ("exr:softmax" → "solution-exr:softmax")."""
    return f"solution-{exercise}"


def theorems_plugin(md: MarkdownIt, admonitions: Sequence[str]) -> None:
    """Every `::: word` block that is not one of the `admonitions` (registered before this, so tried first)."""

    def validate(params: str, *args: Any) -> bool:
        word = params.strip().split(" ", 1)[0].split("{", 1)[0]
        return bool(_KIND.fullmatch(word)) and word not in admonitions

    container_plugin(md, "theorem", validate=validate, render=_render_block)
    md.core.ruler.after("block", "theorems", lambda state: _read_blocks(state, admonitions))
    md.add_render_rule(HEAD_OPEN, _render_head_open)
    md.add_render_rule(HEAD_CLOSE, _render_head_close)
    md.add_render_rule("theorem_solutions_open", _render_solutions_open)
    md.add_render_rule("theorem_solutions_close", lambda self, tokens, idx, options, env: "</section>\n")


def settings_of(env: Any) -> TheoremSettings:
    return env.get("theorems") or DEFAULT


def _problem(env: Any, line: int, message: str) -> None:
    # the list render_body reports, located, with the figures' problems: (0-based body line, message)
    env.setdefault("figure_errors", []).append((line, message))


def _read_blocks(state: StateCore, admonitions: Sequence[str]) -> None:
    """Each block's kind, label, attributes and title into its token's meta; a head (with the title as inline
    Markdown) after its opening; solutions moved to the end of the page if the settings say so."""
    settings = settings_of(state.env)
    tokens = state.tokens
    index = 0
    open_blocks: list[Token] = []
    while index < len(tokens):
        token = tokens[index]
        if token.type == OPEN:
            head = _read_block(token, settings, admonitions, state.env)
            title = Token("inline", "", 0)
            title.content, title.map, title.children = head, token.map, []
            opening, closing = Token(HEAD_OPEN, "", 1), Token(HEAD_CLOSE, "", -1)
            opening.meta = closing.meta = token.meta
            tokens[index + 1 : index + 1] = [opening, title, closing]
            open_blocks.append(token)
            index += 3
        elif token.type == CLOSE and open_blocks:
            token.meta = open_blocks.pop().meta  # the close renders what the opening says (∎, </details>)
        index += 1
    if settings.solutions == "end-of-chapter":
        _gather_solutions(tokens)


def _read_block(token: Token, settings: TheoremSettings, admonitions: Sequence[str], env: Any) -> str:
    """The block's meta from its info line (`theorem {#thm:shift .folded} Shift invariance`): returns the title."""
    line = token.map[0] if token.map else 0
    word, _, rest = token.info.strip().partition(" ")
    word, brace, after = word.partition("{")
    rest = (brace + after + " " + rest).strip() if brace else rest.strip()
    kind = settings.kind(word)
    token.meta = {"kind": word, "name": kind.name if kind else word.capitalize(), "counter": "", "label": ""}
    if kind is None:
        names = [*admonitions, *(k.kind for k in settings.kinds)]
        near = suggest(word, names)
        message = (
            f"unknown block kind {word!r}{near}: the kinds are {', '.join(names)} (theorems: {{kinds: …}} adds one)"
        )
        _problem(env, line, message)
        return rest
    token.meta["counter"] = settings.counter_of(kind)
    attributes: dict[str, Any] = {}
    found = _ATTRIBUTES.match(rest)
    if found:
        try:
            _, attributes = parse_attributes(found.group(0))
        except ParseError as error:
            _problem(env, line, f"{word} attributes {found.group(0)}: {error}")
        rest = rest[found.end() :].strip()
    label = str(attributes.pop("id", ""))
    classes = str(attributes.pop("class", "")).split()
    if label and not kind.label:
        _problem(env, line, f"a {word} has no label of its own (it has no number): remove {{#{label}}}")
    elif label and not label.startswith(kind.label + ":"):
        _problem(env, line, f"label {label!r} is on a {word}: a {word}'s label starts with '{kind.label}:'")
    elif label:
        token.meta["label"] = label
    target_key = {"proof": "of", "solution": "for"}.get(word)
    for name, value in attributes.items():
        if name == target_key:
            token.meta["target"] = str(value)
        else:
            allowed = f"{{#{kind.label}:name}}" if kind.label else f"{{{target_key}=label}}" if target_key else ""
            _problem(
                env, line, f"{word} attribute {name!r}: only {allowed or 'the class'} and {{.folded}} are read here"
            )
    if word == "solution" and "target" not in token.meta:
        _problem(env, line, "a solution says which exercise it solves: ::: solution {for=exr:name}")
    for name in classes:
        if name != "folded":
            _problem(env, line, f"{word} class {name!r}: only {{.folded}} is read here")
    folded = "folded" in classes or (word == "solution" and settings.solutions == "inline")
    token.meta["folded"] = folded and word in ("proof", "solution")
    if "folded" in classes and word not in ("proof", "solution"):
        _problem(env, line, f"a {word} does not fold: only proofs and solutions do")
    return rest


def _gather_solutions(tokens: list[Token]) -> None:
    """Top-level solutions, in their order, to a "Solutions" section at the end of the page."""
    kept: list[Token] = []
    moved: list[Token] = []
    inside = False
    for token in tokens:
        if token.type == OPEN and token.level == 0 and token.meta.get("kind") == "solution":
            inside = True
            token.meta["gathered"], token.meta["folded"] = True, False
        (moved if inside else kept).append(token)
        if inside and token.type == CLOSE and token.level == 0:
            inside = False
    if moved:
        tokens[:] = [*kept, Token("theorem_solutions_open", "", 1), *moved, Token("theorem_solutions_close", "", -1)]


# ---------------------------------------------------------------- rendering


def _render_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting == 1:
        meta = token.meta
        kind = escape(meta["kind"])
        anchor = meta.get("label") or (solution_id(meta.get("target", "")) if meta.get("gathered") else "")
        ident = f' id="{escape(anchor)}"' if anchor else ""
        tag = "details" if meta.get("folded") else "div"
        return f'<{tag} class="theorem-like {kind}"{ident}>\n'
    meta = token.meta
    end = '<p class="qed">∎</p>\n' if meta.get("kind") == "proof" else ""
    if meta.get("solution"):  # an exercise whose solution is at the end of the page
        end += f'<p class="solution-link"><a href="#{escape(meta["solution"])}">Solution</a></p>\n'
    return end + ("</details>\n" if meta.get("folded") else "</div>\n")


def _render_head_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    meta = tokens[idx].meta
    tag = "summary" if meta.get("folded") else "p"
    name = escape(meta["name"])
    number = meta.get("number")
    if number:
        name = f"{name} {escape(number)}"
    target = meta.get("target_name")
    if target:
        joined = "of" if meta["kind"] == "proof" else "to"
        # a <summary> is itself a control: a link inside it is a nested control (WCAG 4.1.2, axe's
        # nested-interactive), so a folded head names its target plainly and the link opens the body
        target_html = (
            f'<span class="theorem-target">{escape(target)}</span>'
            if meta.get("folded")
            else f'<a href="#{escape(meta["target"])}">{escape(target)}</a>'
        )
        name = f"{name} {joined} {target_html}"
    has_title = bool(tokens[idx + 1].content.strip())
    opening = ' <span class="theorem-title">(' if has_title else ""
    return f'<{tag} class="theorem-head"><span class="theorem-name">{name}</span>{opening}'


def _render_head_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    meta = tokens[idx].meta
    tag = "summary" if meta.get("folded") else "p"
    closing = ")</span>" if tokens[idx - 1].content.strip() else ""
    link = ""
    if meta.get("folded") and meta.get("target_name"):
        link = f'<p class="theorem-target-link"><a href="#{escape(meta["target"])}">{escape(meta["target_name"])}</a></p>\n'
    return f"{closing}.</{tag}>\n{link}"


def _render_solutions_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f'<section class="solutions" aria-labelledby="{SOLUTIONS_ID}">\n<h2 id="{SOLUTIONS_ID}">Solutions</h2>\n'


_JOINED = lazy_compile(
    r'(<span class="theorem-name">)([^<]*) (of|to) (<a href="#[^"]*">[^<]*</a>|<span class="theorem-target">[^<]*</span>)</span>'
)
_SOLUTION_LINK = lazy_compile(r'(<p class="solution-link"><a href="#[^"]*">)Solution(</a></p>)')
_SOLUTIONS_HEADING = f'<h2 id="{SOLUTIONS_ID}">Solutions</h2>'


def localize_theorem_words(html: str, word: Callable[..., str]) -> str:
    """`html` with the words the renderers above write in English in another language: "Proof of Theorem 3.2"
    (`word("proof_of", name=…, target=…)`), "Solution to Exercise 1" (`word("solution_to", …)`), an exercise's
    "Solution" link (`word("solution_link")`) and the "Solutions" heading (`word("solutions")`); `word` gives HTML,
    its values HTML already. The kinds' names themselves come from the settings (build.py)."""
    if 'class="theorem-' not in html and "solution" not in html:
        return html
    html = _JOINED.sub(
        lambda m: (
            m.group(1)
            + word("proof_of" if m.group(3) == "of" else "solution_to", name=m.group(2), target=m.group(4))
            + "</span>"
        ),
        html,
    )
    html = _SOLUTION_LINK.sub(lambda m: m.group(1) + word("solution_link") + m.group(2), html)
    return html.replace(_SOLUTIONS_HEADING, f'<h2 id="{SOLUTIONS_ID}">{word("solutions")}</h2>')
