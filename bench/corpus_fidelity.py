"""Real math blogs through primer-site's Markdown: formulas found, KaTeX's errors by cause, text lost.

    python bench/corpus_fidelity.py PATH [PATH...]            # each a folder of Markdown (a blog's clone)
    python bench/corpus_fidelity.py PATH --examples 5 --json out.json

It reads nothing from the network: give it folders you have. The corpora the project measures against are
three public repositories of math writing no one here wrote (GitHub: lilianweng/lil-log, jaketae/jaketae.github.io
and cp-algorithms/cp-algorithms; any clone works, the commits measured are in bench/README.md).

For every `.md` file (its YAML front matter left out) it renders the body with primer-site's renderer, then:

- **Formulas**: how many it finds, inline and display.
- **KaTeX errors by cause**: every formula goes to KaTeX (node_modules, through primer-site's KaTeX service, as
  `check` sends it). An error is the author's when pandoc (pypandoc-binary, `-f markdown+tex_math_single_backslash`)
  reads the same TeX in that file, so the TeX is what the author wrote; it is ours when pandoc does not, so
  primer-site cut the formula differently.
- **Build errors**: the located errors `build` would stop at, counted by kind (the text before the first colon
  or quote of their message), with examples: what an author must change before the blog builds.
- **Text lost**: the words (three letters or more, outside math and code) of pandoc's HTML of the file that are
  not on primer-site's page as often, as text, alt or title. Pandoc reads Markdown differently in places (its
  fenced divs, raw LaTeX, smart punctuation), so a word counted here is a lead to read, with its file.

Prints a Markdown report; `--json` writes the figures. Exit code 0 (it measures; it does not judge).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from primer_site.math.katex import FormulaRequests, KatexService  # noqa: E402
from primer_site.math.katexsetup import locate_katex  # noqa: E402
from primer_site.syntax.markdown import render_body  # noqa: E402

WORD = re.compile(r"[A-Za-z]{3,}")
FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*\n", re.DOTALL)
PANDOC_READER = "markdown+tex_math_single_backslash"
# for the words: pandoc's implicit figures repeat an image's alt as its caption, which would count as ours lost
TEXT_READER = "markdown+tex_math_single_backslash-implicit_figures"


class _Visible(HTMLParser):
    """Words a reader meets on a page (text, alt, title), less math elements and code, which are not prose."""

    SKIP = ("code", "pre", "script", "style")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: Counter[str] = Counter()
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in self.SKIP or "math" in classes or (self.skipping and tag in ("span", "div")):
            self.skipping.append(tag)
        if not self.skipping:
            for name, value in attrs:
                if name in ("alt", "title") and value:
                    self.words.update(WORD.findall(value))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.words.update(WORD.findall(data))


def visible_words(page: str) -> Counter[str]:
    reader = _Visible()
    reader.feed(page)
    reader.close()
    return reader.words


def pandoc(body: str, to: str, reader: str = PANDOC_READER) -> str:
    import pypandoc

    result = subprocess.run(
        [pypandoc.get_pandoc_path(), "-f", reader, "-t", to],
        input=body.encode(),
        capture_output=True,
        check=False,
    )
    return result.stdout.decode()


def pandoc_formulas(document: dict) -> set[str]:
    """The TeX of every Math element in pandoc's JSON, whitespace runs as one space."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("t") == "Math":
                found.add(" ".join(node["c"][1].split()))
            elif node.get("t") in ("RawInline", "RawBlock") and node["c"][0] in ("tex", "latex"):
                found.add(" ".join(node["c"][1].split()))  # a bare environment pandoc keeps as LaTeX
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return found


def measure(folders: list[Path], examples: int) -> dict:
    files = sorted(path for folder in folders for path in folder.rglob("*.md") if ".git" not in path.parts)
    requests = FormulaRequests()
    macros = requests.macros_id(())
    report: dict = {
        "files": len(files),
        "inline": 0,
        "display": 0,
        "build_errors": Counter(),
        "error_examples": {},
        "words_lost": 0,
        "words_on_pandocs_page": 0,
        "lost_examples": [],
    }
    formulas: list[tuple[str, int, int, str, bool]] = []
    pandoc_tex: dict[str, set[str]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        front = FRONT_MATTER.match(text)
        body = text[front.end() :] if front else text
        first_line = text[: front.end()].count("\n") + 1 if front else 1
        name = str(path)
        rendered = render_body(body, name, first_line)
        for formula in rendered.formulas:
            report["display" if formula.display else "inline"] += 1
            formulas.append((name, formula.line, formula.column, formula.tex, formula.display))
            requests.add(formula.tex, formula.display, macros)
        for error in rendered.errors:
            if error.severity != "error":
                continue
            kind = re.split(r"[:'\"(]", error.message, maxsplit=1)[0].strip()
            report["build_errors"][kind] += 1
            shown = report["error_examples"].setdefault(kind, [])
            if len(shown) < examples:
                shown.append(f"{error.path}:{error.line}:{error.column}: {error.message[:160]}")
        document = json.loads(pandoc(body, "json") or "{}")
        pandoc_tex[name] = pandoc_formulas(document)
        theirs = visible_words(pandoc(body, "html", TEXT_READER))
        ours = visible_words(rendered.html)
        lost = theirs - ours
        report["words_on_pandocs_page"] += sum(theirs.values())
        report["words_lost"] += sum(lost.values())
        if lost and len(report["lost_examples"]) < examples * 4:
            report["lost_examples"].append(f"{name}: {', '.join(sorted(lost.elements())[:12])}")
    setup = locate_katex(ROOT)
    answers = KatexService(setup).answer(requests, None) if setup.problem is None else {}
    causes: Counter[str] = Counter()
    katex_examples: dict[str, list[str]] = {"author": [], "ours": []}
    for name, line, column, tex, display in formulas:
        answer = answers.get((tex, display, macros))
        if answer is None or answer.error is None:
            continue
        cause = "author" if " ".join(tex.split()) in pandoc_tex[name] else "ours"
        causes[cause] += 1
        if len(katex_examples[cause]) < examples:
            katex_examples[cause].append(f"{name}:{line}:{column}: {answer.error[:140]}")
    report.update(
        katex=setup.version if setup.problem is None else f"not run: {setup.problem}",
        katex_errors=dict(causes),
        katex_examples=katex_examples,
        build_errors=dict(report["build_errors"].most_common()),
    )
    return report


def markdown_report(report: dict) -> str:
    lines = [
        f"files: {report['files']}; formulas: {report['inline'] + report['display']} "
        f"({report['inline']} inline, {report['display']} display); KaTeX {report['katex']}",
        f"KaTeX errors: {report['katex_errors'].get('author', 0)} the author's, {report['katex_errors'].get('ours', 0)} ours",
    ]
    for cause, shown in report["katex_examples"].items():
        lines += [f"  {cause}: {example}" for example in shown]
    lines.append(f"build errors (what to change before it builds): {sum(report['build_errors'].values())}")
    for kind, count in report["build_errors"].items():
        lines.append(f"  {count:5d}  {kind}")
        lines += [f"         {example}" for example in report["error_examples"][kind]]
    lines.append(f"words on pandoc's pages not on ours: {report['words_lost']} of {report['words_on_pandocs_page']}")
    lines += [f"  {example}" for example in report["lost_examples"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--examples", type=int, default=3, help="examples shown per kind")
    parser.add_argument("--json", type=Path, help="write the figures here")
    arguments = parser.parse_args()
    for folder in arguments.folders:
        report = measure([folder], arguments.examples)
        print(f"## {folder}\n\n{markdown_report(report)}")
        if arguments.json:
            existing = json.loads(arguments.json.read_text()) if arguments.json.exists() else {}
            existing[str(folder)] = report
            arguments.json.write_text(json.dumps(existing, indent=1, default=list))
    return 0


if __name__ == "__main__":
    sys.exit(main())
