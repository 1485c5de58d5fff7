"""bench/corpus_fidelity.py measures what it says on a folder of Markdown: formulas, KaTeX errors by cause, build
errors by kind, words lost (the script itself runs on real blogs, outside the tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("corpus_fidelity", BENCH / "corpus_fidelity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_fidelity"] = module
    spec.loader.exec_module(module)
    return module


def test_it_counts_formulas_errors_by_cause_and_words(tmp_path: Path) -> None:
    (tmp_path / "post.md").write_text(
        "---\ntitle: T\n---\n"
        "Inline $\\frac{1}{$ and $x$, then\n\n$$\ny^2\n$$\n\n"
        "<div>\nThe value $p$ here.\n</div>\n\n"
        "## Words {#w}\n\nEvery word arrives.\n",
        encoding="utf-8",
    )
    report = _script().measure([tmp_path], examples=2)
    assert (report["files"], report["inline"], report["display"]) == (1, 2, 1)
    assert report["katex_errors"] == {"author": 1}  # pandoc reads `\frac{1}{` too: the TeX is the author's
    assert report["build_errors"] == {"math in raw HTML is not read, so": 1}
    assert report["error_examples"]["math in raw HTML is not read, so"][0].startswith(f"{tmp_path}/post.md:11:11: ")
    assert report["words_lost"] == 0 and report["words_on_pandocs_page"] > 5
