"""An oracle for citations: pandoc's citeproc (pandoc 3.9 from pypandoc-binary, its default style Chicago author-date)
reads the same Markdown and BibTeX; the set and order of the references and the author and year of each in-text
citation must agree with primer-site's author-year style.

Differences allowed, with their reasons:
- A particle ("van der Maaten"): citeproc reads BibTeX's lower-case "von" part as a dropping particle and shows
  "Maaten" in the text; primer-site keeps the name as the author wrote it, "van der Maaten" (Chicago 8.5 keeps a
  particle that is part of how the name is said). Both sort under M. Compared here without particles.
- Locators: citeproc turns "p. 3" into "3"; primer-site keeps what the author wrote. Only author and year are
  compared, as the issue asks.
- Nothing else: "et al." from three authors, 2023a/2023b in the reference list's order, "n.d.", editors in place of
  authors, a corporate author in braces and "and others" agree.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path

import pytest

from primer_site.site.citeformat import resolve_citations
from primer_site.sources.bibliography import parse_bibtex
from primer_site.syntax.markdown import render_body

pypandoc = pytest.importorskip("pypandoc")

# The hand-written table of tricky entries: each line says what it tries.
TRICKY = r"""
@article{vaswani2017, title={Attention Is All You Need}, author={Vaswani, Ashish and Shazeer, Noam and Parmar, Niki},
  journal={NeurIPS}, year=2017}
@misc{dpo, title={Direct Preference Optimization}, author={Rafailov, Rafael and Sharma, Archit}, year=2023}
@misc{second, title={A Second Paper}, author={Rafailov, Rafael and Sharma, Archit}, year=2023}
@misc{third, title={Zeta Paper}, author={Rafailov, Rafael and Sharma, Archit}, year=2023}
@misc{gpt4, title={GPT-4 Technical Report}, author={{OpenAI}}, year=2023}
@book{tsne, title={Visualizing Data}, author={van der Maaten, Laurens and Hinton, Geoffrey}, year=2008}
@misc{undated, title={Undated Notes}, author={Doe, Jane}}
@book{handbook, title={Handbook}, editor={Smith, John}, year=2010}
@misc{four, title={Four Authors}, author={Alpha, A. and Beta, B. and Gamma, C. and Delta, D.}, year=2001}
@inproceedings{instruct, title={Training Language Models to Follow Instructions}, author={Ouyang, Long and others},
  booktitle={NeurIPS}, year=2022}
@book{kernels, title={Learning with Kernels}, author={Sch{\"o}lkopf, Bernhard and Smola, Alexander J.}, year=2002}
@article{kaplan2020, title={Scaling Laws for Neural Language Models}, author={Kaplan, Jared and McCandlish, Sam
  and Henighan, Tom}, journal={arXiv preprint arXiv:2001.08361}, year=2020}
@misc{solo2020, title={Alone}, author={Kaplan, Jared}, year=2020}
@misc{doe2019, title={Earlier}, author={Doe, Jane}, year=2019}
@misc{doe2021, title={Later}, author={Doe, John}, year=2021}
@misc{math, title={Bounds of $O(n^2)$ Size}, author={Lee, Ann}, year=2015}
"""

TRICKY_BODY = """\
First [@vaswani2017]. Then [@dpo; @second] and [see @third, p. 3]. @gpt4 reports it; [@tsne, sec. 2] too.

[-@undated] and [@handbook]. [@four; @instruct]. @kernels show [@kaplan2020; @solo2020].

Jane [@doe2019] and John [@doe2021]; [@math].
"""

KEYS = [
    "vaswani2017",
    "dpo",
    "second",
    "third",
    "gpt4",
    "tsne",
    "undated",
    "handbook",
    "four",
    "instruct",
    "kernels",
    "kaplan2020",
    "solo2020",
    "doe2019",
    "doe2021",
    "math",
]
_YEAR = re.compile(r"\b(\d{4}[a-z]?|n\.d\.)")
_PARTICLES = {"van", "der", "de", "von", "la", "du", "di", "da", "le"}
_PREFIXES = ("see", "e.g.,", "cf.")


def generated_body(seed: int) -> str:
    """A few paragraphs of every citation form over random keys."""
    chance = random.Random(seed)
    paragraphs = []
    for _ in range(chance.randint(1, 3)):
        sentences = []
        for _ in range(chance.randint(1, 4)):
            keys = chance.sample(KEYS, chance.randint(1, 3))
            form = chance.choice(["bracket", "locator", "prefix", "year", "text"])
            if form == "bracket":
                cite = "[" + "; ".join(f"@{k}" for k in keys) + "]"
            elif form == "locator":
                cite = f"[@{keys[0]}, p. {chance.randint(1, 99)}]"
            elif form == "prefix":
                cite = f"[see @{keys[0]}]"
            elif form == "year":
                cite = f"[-@{keys[0]}]"
            else:
                cite = f"@{keys[0]} show"
            sentences.append(f"Words {cite}.")
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs) + "\n"


def _stringify(inlines: list) -> str:
    out = []
    for node in inlines:
        kind, content = node.get("t"), node.get("c")
        if kind == "Str":
            out.append(content)
        elif kind in ("Space", "SoftBreak"):
            out.append(" ")
        elif kind in ("Emph", "Strong", "SmallCaps", "Quoted", "Span", "Link"):
            inner = content[-1] if kind in ("Span", "Link", "Quoted") else content
            out.append(_stringify(inner if kind != "Link" else content[1]))
    return "".join(out)


def _walk(node: object):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def pandoc_reading(markdown: str, bib: Path) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """(reference keys in order, [(author, year) of each item] of each citation) as citeproc renders them."""
    result = subprocess.run(
        [pypandoc.get_pandoc_path(), "-f", "markdown", "-t", "json", "--citeproc", f"--bibliography={bib}"],
        input=markdown,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tree = json.loads(result.stdout)
    citations = []
    references: list[str] = []
    for node in _walk(tree["blocks"]):
        if node.get("t") == "Cite":
            citations.append(_authors_and_years(_stringify(node["c"][1])))
        elif node.get("t") == "Div" and node["c"][0][0].startswith("ref-"):
            references.append(node["c"][0][0].removeprefix("ref-"))
    return references, citations


def our_reading(markdown: str, bib_text: str) -> tuple[list[str], list[list[tuple[str, str]]]]:
    body = render_body(markdown, "content/a.md", 1)
    entries, problems = parse_bibtex(bib_text, "refs.bib")
    assert not problems
    (html,), references, errors = resolve_citations(
        [body.html], body.citations, {e.key: e for e in entries}, "author-year", ("content/a.md", 1), ["refs.bib"]
    )
    assert not errors
    spans = re.findall(r'<span class="citation">(.*?)</span>', html, re.DOTALL)  # only links inside
    citations = [_authors_and_years(unescape(re.sub(r"<[^>]+>", "", span))) for span in spans]
    return [r.key for r in references], citations


def _authors_and_years(text: str) -> list[tuple[str, str]]:
    """Each item's (author, year): the words before its year in its part ("; " between parts), with prefixes,
    parentheses and particles dropped; a year with nothing before it takes the author before (collapsed)."""
    items: list[tuple[str, str]] = []
    text = text.strip().strip("()")
    for part in text.split("; "):
        author = ""
        at = 0
        for match in _YEAR.finditer(part):
            before = part[at : match.start()].strip(" (),")
            for prefix in _PREFIXES:
                before = before.removeprefix(prefix).strip()
            if before:
                author = " ".join(w for w in before.split() if w not in _PARTICLES)
            items.append((author, match.group(1)))
            at = match.end()
            tail = part[at:]
            at += len(tail) - len(tail.lstrip(" ),")) if tail.startswith((",", ")")) else 0
    return items


@pytest.fixture(scope="module")
def bib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("oracle") / "refs.bib"
    path.write_text(TRICKY, encoding="utf-8")
    return path


def test_the_tricky_entries_agree_with_citeproc(bib: Path) -> None:
    theirs = pandoc_reading(TRICKY_BODY, bib)
    ours = our_reading(TRICKY_BODY, TRICKY)
    assert ours[0] == theirs[0]  # the same works, in the same order
    assert ours[1] == theirs[1]  # each citation's authors and years


def test_generated_bodies_agree_with_citeproc(bib: Path) -> None:
    bodies = [generated_body(seed) for seed in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:  # pandoc's start-up is most of the time: overlap it
        readings = list(pool.map(lambda body: pandoc_reading(body, bib), bodies))
    for body, theirs in zip(bodies, readings, strict=True):
        ours = our_reading(body, TRICKY)
        assert ours == theirs, body
