"""Markdown bodies for the math tests: generated ones (seeded) and a table of tricky hand-written ones.

The generated bodies are made of blocks separated by blank lines, each line starting with a word, so that
their block structure is the same in CommonMark and in pandoc's Markdown (which differ on what may interrupt
a paragraph); inside the blocks, anything goes: every delimiter, escapes, `\\text{…}`, spaces, digits,
pipes, code spans, emphasis and line breaks.
"""

from __future__ import annotations

import random

INLINE_PIECES = [
    "$", "$", "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\$", "\\\\", "\\|", "|", "\\text{", "{", "}", "\\text{a $b$ c}",
    " ", " ", "  ", "\t", "5", "10", "x", "y_1", "\\alpha", "a^2", "P(A|B)", "\\|w\\|_2", "`", "``", "*", "_",
    "**", "[", "]", "(", ")", "$x$", "$$y$$", "\\(z\\)", "\\[w\\]", "$5", "$ ", " $", "$$ ", "-", "+", ".", ",",
    "\\begin{align}a\\end{align}", "\\label{eq:x}", "~", "<", ">", "&", "#",
]  # fmt: skip
WORDS = ["w", "word", "Then", "price", "see", "so"]


def inline_text(rng: random.Random, pieces: int, newlines: bool) -> str:
    out = [rng.choice(WORDS), " "]
    for _ in range(rng.randint(1, pieces)):
        if newlines and rng.random() < 0.08:
            out.append("\n" + rng.choice(WORDS) + " ")  # a line that cannot start a block
        else:
            out.append(rng.choice(INLINE_PIECES))
    return "".join(out).rstrip("\\")


def block(rng: random.Random) -> str:
    kind = rng.choice(["paragraph", "paragraph", "paragraph", "table", "list", "quote", "heading", "display"])
    if kind == "paragraph":
        return inline_text(rng, 14, newlines=True)
    if kind == "table":
        columns = rng.randint(1, 3)
        rows = [
            "| " + " | ".join(inline_text(rng, 5, newlines=False) for _ in range(columns)) + " |"
            for _ in range(rng.randint(1, 3))
        ]
        header = "| " + " | ".join(f"h{i}" for i in range(columns)) + " |"
        return "\n".join([header, "|" + "---|" * columns, *rows])
    if kind == "list":
        return "\n".join("- " + inline_text(rng, 8, newlines=False) for _ in range(rng.randint(1, 3)))
    if kind == "quote":
        return "> " + inline_text(rng, 8, newlines=False)
    if kind == "heading":
        return "## " + inline_text(rng, 6, newlines=False)
    opener, closer = rng.choice([("$$", "$$"), ("\\[", "\\]")])
    inner = inline_text(rng, 6, newlines=False).replace(closer, "")
    return f"{opener}\n{inner}\n{closer}"


def random_bodies(seed: int, count: int) -> list[str]:
    """`count` bodies of one to four blocks; the same seed gives the same bodies."""
    rng = random.Random(seed)
    return ["\n\n".join(block(rng) for _ in range(rng.randint(1, 4))) + "\n" for _ in range(count)]


# Hand-written: the inputs and the places math meets other Markdown.
TRICKY = {
    "pipe-in-cell": "| expression | meaning |\n|---|---|\n| $P(A|B)$ | conditional |\n",
    "norm-in-cell": "| norm |\n|---|\n| $\\|w\\|_2$ |\n",
    "every-delimiter-in-cells": "| a | b | c | d |\n|---|---|---|---|\n| $a|b$ | $$c|d$$ | \\(e|f\\) | \\[g|h\\] |\n",
    "escaped-pipe-outside-math": "| a | b |\n|---|---|\n| x \\| y $z$ | $\\{q\\}$ |\n",
    "code-span-in-cell": "| a | b |\n|---|---|\n| `x|y` $p$ | `\\|` $q$ |\n",
    "dollar-in-text": "Then $a = b_\\text{c $d$ e}$ holds.\n",
    "nested-text": "$\\text{a {b $c$} d}$ and $e$\n",
    "two-displays-one-line": "- $$P_6$$ is obtained from\n  $$C_5$$\n\n$$P_6$$ is obtained from $$C_5$$\n",
    "display-block": "$$\nx = 1\n$$\n\nText\n$$\ny\n$$\n",
    "display-with-blank-line": "$$\na\n\nb\n$$\n",
    "brackets": "\\[\na\n\\]\n\nInline \\(b\\) and \\[c\\].\n",
    "environment": "\\begin{align}\na &= b\n\\end{align}\n",
    "environment-in-quote": "> \\begin{align}\n>   a &= b\n> \\end{align}\n",
    "list": "- item $a_1 * b_2$\n  - nested $\\{x\\}$\n  - display\n\n    $$\n    y\n    $$\n",
    "quote": "> quoted $x_*$\n>\n> $$y^*$$\n",
    "footnote": "Note[^1].\n\n[^1]: see $p_{*}(x)$\n",
    "heading": "## Entropy $H(X)$ of *x*\n",
    "admonition": "::: note A $title$\nBody $z$.\n:::\n",
    "emphasis-around": "*$x$* and **$y$** and _$z$_\n",
    "escaped-dollars": "A \\$ sign and \\$x\\$ and \\\\$y$.\n",
    "prices": "It costs $5 and $10 today; $20,000 and $30,000.\n",
    "space-rules": "$ x$ and $x $ and $x$5 and $x$.\n",
    "code": "`$x$` and ``$y$`` and\n\n```\n$$z$$\n```\n",
    "multi-line-inline": "Here $a +\nb$ ends.\n",
    "line-break-before-dollar": "Here $a\n$ ends.\n",
    "label": "$$\na\n$$ (eq:a)\n\n\\[\nb\n\\] (eq:b)\n",
    "dollar-dollar-inline": "a $$b$ c and $$$d$$$\n",
    "backslash-before-close": "$a\\$ b$ and $c\\\\$\n",
    "text-unclosed": "$\\text{a$ b\n",
}
