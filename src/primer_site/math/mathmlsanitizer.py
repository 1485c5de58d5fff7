"""KaTeX's MathML cleaned by an allow-list sanitizer (nh3, Rust's ammonia) before anything else sees it: only the
elements and attributes KaTeX's MathML builder makes are kept (no script, handler, URL or foreign element)."""

from __future__ import annotations

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


MATHML_CLEANER = {
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
    import nh3  # with KaTeX's first answer: a build whose formulas are all kept never loads it

    return nh3.clean(markup, **MATHML_CLEANER)  # type: ignore[arg-type]
