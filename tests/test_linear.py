"""Every scan that meets author input is linear: work counted (Python lines executed by the parse, through a
tracer), never timed, over inputs of growing size. Issue 20 item 11: each pattern here was quadratic or cubic."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable

import pytest

from primer_site.syntax.markdown import render_body

# Each: a unit repeated n times. The first six are the findings; the others their kin.
PATTERNS = {
    "\\(\\text{ repeated": "\\(\\text{",
    "\\( repeated": "\\(",
    "::: lines": ":::\n",
    "unclosed \\begin{align} lines": "\\begin{align}\n",
    "identical headings": "# Same\n\n",
    "a long task list": "- [ ] task\n",
    "unclosed \\[ lines": "\\[\n",
    "$\\text{ repeated": "$\\text{",
    "unclosed $$ then text": "$$ a\n",
    "inline \\begin{equation}": "x \\begin{equation} ",
    "table-like lines": "a | b\n|:-:|\n",
}


def steps(work: Callable[[], object]) -> int:
    """The Python lines `work` executes (every module: ours, markdown-it's, its plugins')."""
    count = 0

    def trace(frame: object, event: str, arg: object) -> Callable | None:
        nonlocal count
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_rendering_a_body_is_linear_in_its_length(name: str) -> None:
    unit = PATTERNS[name]
    sizes = (500, 1000, 2000, 4000) if name == "identical headings" else (100, 200, 400, 800)  # cheap units
    counts = [steps(lambda n=n: render_body(unit * n, "x.md", 1, False)) for n in sizes]
    # linear: doubling the input at most doubles the work, give or take a constant start-up
    ratios = [later / earlier for earlier, later in itertools.pairwise(counts)]
    assert max(ratios[1:]) < 2.3, (name, counts)
