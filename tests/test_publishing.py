"""Publishing: the workflow runs the README's commands; the daily build publishes a chapter on its day."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from fixture_sites import REPO, make_site, post, run_cli
from primer_site.commands.build import BuildOptions, build_site


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


def workflow() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/publish.yml").read_text())


def scheduled_runs(after: datetime, before: datetime) -> list[datetime]:
    """The UTC times the workflow's schedule fires between two moments (its cron fields: numbers or "*")."""
    [cron] = [entry["cron"] for entry in workflow()[True]["schedule"]]  # YAML 1.1 reads the key "on" as true
    fields = cron.split()
    assert fields[2:] == ["*", "*", "*"], "the schedule must run every day"

    def allows(field: str, value: int) -> bool:
        return field == "*" or value in {int(part) for part in field.split(",")}

    runs, moment = [], after.astimezone(UTC).replace(second=0, microsecond=0)
    while moment <= before:
        if allows(fields[0], moment.minute) and allows(fields[1], moment.hour):
            runs.append(moment)
        moment += timedelta(minutes=1)
    return runs


def test_the_workflow_runs_on_push_and_on_a_schedule() -> None:
    triggers = workflow()[True]
    assert "push" in triggers and "schedule" in triggers
    assert "pull_request_target" not in triggers, "it would run with main's cache scope on a pull request's code"


ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "America/St_Johns", "Pacific/Pago_Pago", "Asia/Kolkata",
         "Australia/Lord_Howe", "Pacific/Kiritimati", "Asia/Kathmandu"]  # fmt: skip


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("day", ["2026-06-01", "2026-11-01", "2026-12-31"])
def test_the_scheduled_build_publishes_a_chapter_within_an_hour_of_its_date_in_any_timezone(
    tmp_path: Path, zone: str, day: str
) -> None:
    """The first scheduled run after midnight in the site's zone publishes it; the last one before does not."""
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": f"title: T\nbase_url: https://example.org/\ntimezone: {zone}\n",
            "content/today.md": post("Today", day, series="s", chapter=2),
            "content/before.md": post("Before", "2026-01-01", series="s", chapter=1),
        },
    )
    midnight = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone))
    runs = scheduled_runs(midnight - timedelta(hours=2), midnight + timedelta(hours=2))
    first = next(run for run in runs if run >= midnight)
    last_before = max(run for run in runs if run < midnight)
    assert first - midnight <= timedelta(hours=1)
    for now, published in ((last_before, False), (first, True)):
        out = tmp_path / now.strftime("%H%M")
        build_site(BuildOptions(source=site, output=out, now=now, jobs=1, cache=False))
        assert (out / "posts/today/index.html").exists() == published, (zone, now)


def test_now_without_an_offset_is_read_in_the_site_s_timezone(tmp_path: Path) -> None:
    """With timezone: America/New_York a post dated 2026-06-01 is published by --now 2026-06-01 (it was left out:
    --now was read as UTC midnight, four hours before New York's), and by a build at 00:05 New York time."""
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\ntimezone: America/New_York\n",
            "content/a.md": post("A", "2026-06-01"),
        },
    )
    for now, published in (
        ("2026-06-01", True),
        ("2026-05-31T23:59", False),
        ("2026-06-01T00:05:00-04:00", True),
        ("2026-06-01T04:04:00+00:00", True),
        ("2026-06-01T03:59:00+00:00", False),
    ):
        out = tmp_path / f"out-{len(now)}-{now[-5:].replace(':', '')}"
        result = run_cli("build", "-s", str(site), "-o", str(out), "--now", now)
        assert result.returncode == 0, result.stderr
        assert (out / "posts/a/index.html").exists() == published, now


def test_the_publishing_cache_cannot_be_seeded_by_a_pull_request() -> None:
    """The cache key names the workflow and the branch: runs for a pull request have their own ref
    (refs/pull/N/merge), so neither the key nor a restore-key prefix they save under is main's."""
    [cache] = [s for s in workflow()["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/cache")]
    key, restore = cache["with"]["key"], cache["with"]["restore-keys"]
    assert key.startswith("primer-cache-${{ github.workflow }}-${{ github.ref }}-")
    for prefix in restore.splitlines():
        assert "${{ github.ref }}" in prefix, prefix


@pytest.mark.parametrize(
    ("now", "published"),
    [("2026-11-30T23:59:00+00:00", False), ("2026-12-01T00:05:00+00:00", True)],
)
def test_a_volume_s_next_chapter_appears_on_its_day(tmp_path: Path, now: str, published: bool) -> None:
    """Until its day the series page lists it as coming, without a link; from then on it is a page, linked, in the
    series' feed."""
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": "title: S\nbase_url: https://example.org/\ntimezone: UTC\n",
            "series/vol.md": "---\ntitle: Vol\nchapters: 3\n---\n",
            "content/vol/vol-ch01.md": post("One", "2026-11-01", series="vol", chapter=1),
            "content/vol/vol-ch02.md": post("Two", "2026-12-01", series="vol", chapter=2),
        },
    )
    out = tmp_path / "out"
    result = run_cli("build", "--source", str(site), "--output", str(out), "--now", now, "--no-cache")
    assert result.returncode == 0, result.stderr
    chapter = out / "posts/vol-ch02/index.html"
    series = (out / "series/vol/index.html").read_text()
    feed = (out / "series/vol/feed.xml").read_text()
    assert chapter.exists() == published
    assert ('href="/posts/vol-ch02/"' in series) == published
    assert ("vol-ch02" in feed) == published
    assert ('coming on <time datetime="2026-12-01">' in series) != published
    assert 'href="/posts/vol-ch01/"' in series and "vol-ch01" in feed
