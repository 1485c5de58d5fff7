"""Publishing: the workflow runs the README's commands; the daily build publishes a chapter on its day."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fixture_sites import REPO, run_cli


def readme_publish_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Checking and publishing", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return [line.strip() for line in blocks[1].splitlines() if line.strip()]


def test_the_workflow_runs_the_readmes_commands() -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/publish.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    readme = readme_publish_commands()
    assert [r.split(" --base-url")[0] for r in runs] == [c.split(" --base-url")[0] for c in readme]
    assert all("--base-url" in c for c in (runs[-1], readme[-1]))
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "public"


def test_the_workflow_runs_daily_for_scheduled_chapters() -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/publish.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as true
    [cron] = [entry["cron"] for entry in triggers["schedule"]]
    _minute, _hour, day, month, weekday = cron.split()
    assert (day, month, weekday) == ("*", "*", "*"), "the schedule must run every day"
    assert "push" in triggers


@pytest.mark.parametrize(
    ("now", "published"),
    [("2026-11-30T23:59:00+00:00", False), ("2026-12-01T00:05:00+00:00", True)],
)
def test_a_scheduled_chapter_appears_on_the_day_it_falls_due(tmp_path: Path, now: str, published: bool) -> None:
    out = tmp_path / "out"
    result = run_cli("build", "--source", str(REPO), "--output", str(out), "--now", now, "--no-cache")
    assert result.returncode == 0, result.stderr
    chapter = out / "posts/primer-iii-ch01-prompting/index.html"
    series = (out / "series/llm-primer-iii/index.html").read_text()
    feed = (out / "series/llm-primer-iii/feed.xml").read_text()
    assert chapter.exists() == published
    assert ('href="/posts/primer-iii-ch01-prompting/"' in series) == published
    assert ("primer-iii-ch01-prompting" in feed) == published
    assert ('coming on <time datetime="2026-12-01">' in series) != published
