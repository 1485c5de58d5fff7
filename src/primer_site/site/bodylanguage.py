"""The theme's words that the Markdown renderers write into bodies (figure and table numbers, heading anchors'
labels, admonitions' default titles, theorem-like kinds' names), in the site's language. The body cache keeps
bodies in English, so that a change of language or of a message renders no Markdown again.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import compress
from operator import is_not

from markupsafe import Markup

from primer_site.site.i18n import Catalogue
from primer_site.sources.theoremkinds import BUILT_IN as BUILT_IN_THEOREMS
from primer_site.sources.theoremkinds import TheoremSettings
from primer_site.syntax.figures import localize_figure_numbers
from primer_site.syntax.markdown import RenderedBody
from primer_site.syntax.markdown_parser import ADMONITIONS, localize_body_words
from primer_site.syntax.theorems import localize_theorem_words

_BODY_WORDS = (
    "figure", "table", "caption_colon", "heading_anchor", *ADMONITIONS,
    "proof_of", "solution_to", "solution_link", "solutions",
)  # fmt: skip


def theorems_in_language(settings: TheoremSettings, catalogue: Catalogue) -> TheoremSettings:
    """The theorem-like kinds with the built-in ones' names ("Theorem", "Proof"…) in the site's language, where
    site.yaml leaves them as they are. The names are part of a body's cache key: another language renders again."""
    english = {kind.kind: kind.name for kind in BUILT_IN_THEOREMS}
    kinds = tuple(
        replace(kind, name=str(catalogue.messages[kind.kind]))
        if english.get(kind.kind) == kind.name and kind.kind in catalogue.messages
        else kind
        for kind in settings.kinds
    )
    return settings if kinds == settings.kinds else replace(settings, kinds=kinds)  # what Markdown writes in English


def in_language(
    bodies: list[RenderedBody], series_bodies: list[RenderedBody], catalogue: Catalogue, memo: dict
) -> tuple[list[RenderedBody], list[RenderedBody]]:
    """The bodies with the theme's words the Markdown renderers wrote in the site's language: figures' and tables'
    numbers ("Tableau 4.1 :"), heading anchors' labels, admonitions' default titles. The body cache keeps them in
    English, so that a change of language or of a message renders no Markdown again. `memo` (the process's) keeps
    each list's last call (bodies, words, results): a body the very same object as at its place then, in words
    unchanged, is the same result, found by identity in C, without a look at each body."""
    words = catalogue.words(_BODY_WORDS)
    if words is None:
        memo.clear()
        return bodies, series_bodies

    def localized(body: RenderedBody) -> RenderedBody:
        html = localize_figure_numbers(body.html, catalogue.numbered)
        html = localize_body_words(html, lambda key: str(catalogue.text(key)))
        html = localize_theorem_words(
            html, lambda key, **values: str(catalogue.text(key, **{k: Markup(v) for k, v in values.items()}))
        )
        return body if html == body.html else replace(body, html=html)

    def each(name: str, given: list[RenderedBody]) -> list[RenderedBody]:
        last = memo.get(name)
        if last is not None and last[1] == words and len(last[0]) == len(given):
            made = list(last[2])
            for index in compress(range(len(given)), map(is_not, given, last[0])):
                made[index] = localized(given[index])
        else:
            made = [localized(b) for b in given]
        memo[name] = (list(given), words, made)
        return made

    return each("posts", bodies), each("series", series_bodies)
