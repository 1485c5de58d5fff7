"""Shared pytest options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from fixture_sites import EXAMPLE_NOW, REPO, made_once, run_cli

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


@pytest.fixture(scope="session")
def example_site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site (the repository root is the site) built as a user builds it, once per test run and shared
    by every worker: read it, never write into it.

    --no-cache: the body cache is keyed on the package version, so it would hide a change to the Markdown renderer.
    """

    def make(output: Path) -> None:
        result = run_cli("build", "--source", str(REPO), "--output", str(output), "--now", EXAMPLE_NOW, "--no-cache")
        if result.returncode != 0:
            pytest.fail(f"building the example site failed:\n{result.stderr}{result.stdout}", pytrace=False)

    return made_once(tmp_path_factory, "example-site", make)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under --dist loadgroup, keep the tests of a module that share a module-scoped fixture (a site built once for
    the module) on one worker: split across workers, each would build it again. Other tests go where there is room.
    Tests marked `long` are put first. pytest-xdist then hands out the groups first (largest first: its default
    --loadscope-reorder sorts the units by their number of tests, keeping this order among units of one test), so
    a `long` test starts as soon as the groups are given out, and the short single tests even out the end."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        if fixtures is None or item.get_closest_marker("xdist_group"):
            continue
        scopes = {defs[-1].scope for defs in fixtures.name2fixturedefs.values() if defs}
        if scopes & {"module", "class", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    # the tests marked `long` first (in their order): the workers share out what is left while they run, instead
    # of one worker starting a minutes-long test when the others are nearly done
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a check that did not run: fail the run, loudly (in the process that reports: under
    pytest-xdist the controller, which hears of every worker's skips)."""
    if hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) were skipped; every check must run in CI", red=True)
        session.exitstatus = 1


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiles from their text during a test (not loaded from .primer-cache/)."""
    from primer_site.rendering.theme import RecordingEnvironment

    names: list[str] = []
    original = RecordingEnvironment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):  # type: ignore[no-untyped-def]
        names.append(name)
        return original(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(RecordingEnvironment, "compile", counting)
    return names
