"""Shared pytest options."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# The property tests' examples are the same in every run, so that CI passes or fails on the code alone; the
# long, randomized campaigns are in bench/ (fuzz.py, incremental_state.py, math_oracle.py). HYPOTHESIS_PROFILE=
# explore runs the suite's properties on new examples.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/expected from the fixture site")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a check that did not run: fail the run, loudly."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) were skipped; every check must run in CI", red=True)
        session.exitstatus = 1
