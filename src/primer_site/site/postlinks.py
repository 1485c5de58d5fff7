"""Links between posts: a body's placeholders for links to other sources turned into URLs, or reported.

A link with no text is a reference, its text made from what it points at ("Eq. (10.3)", a heading, a title).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from markupsafe import Markup

from primer_site.errors import Problems
from primer_site.frozen import replaced
from primer_site.lazyregex import lazy_compile
from primer_site.model import Post
from primer_site.site.i18n import REFERENCE_DATE_KEY, Catalogue
from primer_site.sources.theoremkinds import BUILT_IN as BUILT_IN_THEOREMS
from primer_site.syntax.inline import render_title
from primer_site.syntax.markdown import RenderedBody, SourceLink
from primer_site.syntax.references import Label

TAG = re.compile(r"<[^>]+>")  # an HTML tag, for a summary's text form
_PLACEHOLDER_LINK = lazy_compile('<a href="\x00L(\\d+)\x00"([^>]*)>(.*?)</a>', re.DOTALL)
NUMBERED_WORDS = ("equation", "figure", "table")  # labels whose reference text is a catalogue message
_LABELLED = {"eq": "equation labelled", "fig": "figure labelled", "tbl": "table labelled"}  # by label prefix
_LABELLED.update({k.label: f"{k.kind} labelled" for k in BUILT_IN_THEOREMS if k.label})


def resolve_links(
    post: Post,
    links: Sequence[SourceLink],
    by_source: dict[str, Post],
    body_of: dict[str, RenderedBody],
    published: set[str],
    unreadable: frozenset[str],
    problems: Problems,
    drafts: frozenset[str] = frozenset(),
    catalogue: Catalogue | None = None,
) -> Post:
    """Turn the placeholders for links to other sources into their URLs (or report them).

    A link with no text is a reference: its text is made from what it points at, "Eq. (10.3)", a heading
    ("10.2 Reward modelling" where sections are numbered), or the post's title.
    """
    if not links:
        return post
    labels: dict[str, dict[str, Label]] = {}  # each target's labels by id, made once: not a scan per reference

    def label_of(target: str, fragment: str) -> Label | None:
        if (known := labels.get(target)) is None:
            known = labels[target] = {}
            for label in body_of[target].labels:
                known.setdefault(label.id, label)  # the first of an id, as RenderedBody.label gives it
        return known.get(fragment)

    def text_of(link: SourceLink, text: str) -> str:
        target = by_source.get(link.target)
        if text or target is None:
            return text
        label = label_of(link.target, link.fragment) if link.fragment else None
        if label is not None:
            if catalogue is not None and label.kind in NUMBERED_WORDS:
                return catalogue.numbered(label.kind, html.escape(label.number))
            return label.reference_html
        return html.escape(link.fragment) if link.fragment else render_title(target.title)

    def resolve(match: re.Match[str]) -> str:
        link = links[int(match.group(1))]
        target = by_source.get(link.target)
        text = text_of(link, match.group(3))
        if target is None and link.target in drafts:
            problems.error(
                f"link to {link.written!r}: {link.target} is a draft (draft: true), left out of this build: publish "
                "it, or build with --drafts to preview",
                post.source,
                link.line,
            )
            return text
        if target is None and link.target in unreadable:
            return text
        if target is None:
            problems.error(f"link to {link.written!r}: no post at {link.target}", post.source, link.line)
            return text
        if link.fragment and link.fragment not in body_of[link.target].ids:
            what = _LABELLED.get(link.fragment.partition(":")[0], "heading or id")
            where = "this post" if link.target == post.source else link.target
            problems.error(f"link to {link.written!r}: {where} has no {what} #{link.fragment}", post.source, link.line)
            return text
        if link.target == post.source:
            same = link.written if link.written.startswith("#") else f"#{link.fragment}"  # the href as written
            return f'<a href="{html.escape(same)}"{match.group(2)}>{text}</a>'
        if link.target not in published:
            # a scheduled chapter: no link to a page that is not there yet; the first build on or after its date
            # makes one. A reference says where and when ("Theorem 10.2, in Chapter 10, out on 12 March 2026").
            when = target.date.strftime("%Y-%m-%d")
            label = label_of(link.target, link.fragment) if link.fragment else None
            if label is not None and not match.group(3):
                if catalogue is None:
                    where = html.escape(target.chapter_label) or render_title(target.title)
                    text = f"{text}, in {where}, out on {target.date.day} {target.date:%B %Y}"
                else:
                    where = html.escape(catalogue.chapter_label(target.chapter)) or render_title(target.title)
                    out = catalogue.date(target.date, str(catalogue.messages[REFERENCE_DATE_KEY]))
                    text = str(
                        catalogue.text("scheduled_reference", reference=Markup(text), where=Markup(where), date=out)
                    )
            title = catalogue.text("coming_on_title", date=when) if catalogue is not None else f"Coming on {when}"
            return f'<span class="link-scheduled" title="{title}">{text}</span>'
        href = target.url + (f"#{link.fragment}" if link.fragment else "")
        return f'<a href="{html.escape(href)}"{match.group(2)}>{text}</a>'

    # the summary may be the body's first paragraph, placeholders included
    summary_html = _PLACEHOLDER_LINK.sub(lambda m: text_of(links[int(m.group(1))], m.group(3)), post.summary_html)
    if summary_html == post.summary_html:
        return replaced(post, body_html=_PLACEHOLDER_LINK.sub(resolve, post.body_html))
    # a reference's text is in the summary now: in its text form too
    summary_text = html.unescape(TAG.sub("", summary_html)).strip()
    return replaced(
        post,
        body_html=_PLACEHOLDER_LINK.sub(resolve, post.body_html),
        summary_html=summary_html,
        summary_text=summary_text,
        description=summary_text if post.description == post.summary_text else post.description,
    )
