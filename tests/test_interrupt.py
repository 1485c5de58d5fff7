"""Interruption: `primer-site build` killed with SIGKILL at random moments never leaves a mixed or missing site.

The output folder must always hold exactly the complete previous site or exactly the complete new one, and the next
build must clean up what a killed one left behind (a half-reconciled staging folder, a `.NAME.retired` or
`.NAME.tmp-*` folder). The staging folder is kept between builds on purpose (see staging.py); no lock file is left.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from fixture_sites import NOW_ARG as NOW
from fixture_sites import SRC, make_site, post, tree_bytes
from primer_site.commands.build import BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.publish.output import MARKER
from primer_site.publish.staging import recover_output, write_output

POSTS = 400  # a build of ~1-2 s: kills land while importing, parsing, rendering, reconciling and swapping
KILLS = int(os.environ.get("PRIMER_INTERRUPT_KILLS", "24"))
BASE_URL = "base_url: https://example.org/\n"


def write_site(root: Path, posts: int) -> Path:
    for i in range(posts):
        path = root / "content" / f"s{i // 50}" / f"post-{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"---\ntitle: Post {i}\ndate: 2026-0{1 + i % 5}-{1 + i % 28:02d}\ntags: [t{i % 40}, t{i * 7 % 40}]\n"
            f"category: c{i % 6}\nseries: s{i // 50}\nchapter: {i % 50 + 1}\n---\n"
            f"Paragraph {i} with $x_{{{i}}}$ and `code`.\n\n## Section\n\n- one\n- two\n\n```python\nprint({i})\n```\n",
            encoding="utf-8",
        )
    (root / "site.yaml").write_text("title: Interrupted\nbase_url: https://example.org/\n", encoding="utf-8")
    return root


def set_version(site: Path, version: str) -> None:
    """B renames a post (its page, listings, tags, feeds change) and adds one (new files appear); C retitles the
    site, which changes every page. Cycling through three versions, the staging folder (the site of two builds
    ago) never already holds the new site: a build writes hundreds of files into it."""
    (site / "site.yaml").write_text(
        ("title: Interrupted again\n" if version == "C" else "title: Interrupted\n") + BASE_URL
    )
    edited = site / "content/s0/post-007.md"
    text = edited.read_text(encoding="utf-8")
    title = "title: Post 7 (revised)" if version == "B" else "title: Post 7"
    edited.write_text(text.replace(text.split("\n")[1], title), encoding="utf-8")
    added = site / "content/added.md"
    if version == "B":
        added.write_text(post("Added", "2026-05-30", "New.", tags="[brand-new]"), encoding="utf-8")
    else:
        added.unlink(missing_ok=True)


def build_command(site: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "primer_site", "build", "--source", str(site), "--output", str(output), "--now", NOW]


def run_build(site: Path, output: Path) -> float:
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run(build_command(site, output), env=env, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def difference(tree: dict[str, bytes], old: dict[str, bytes], new: dict[str, bytes]) -> str:
    closer = old if len(tree.keys() ^ old.keys()) <= len(tree.keys() ^ new.keys()) else new
    missing = sorted(closer.keys() - tree.keys())[:5]
    extra = sorted(tree.keys() - closer.keys())[:5]
    changed = sorted(p for p in tree.keys() & closer.keys() if tree[p] != closer[p])[:5]
    return f"missing {missing}, extra {extra}, differing {changed}"


@pytest.mark.long
def test_a_killed_build_leaves_the_complete_old_site_or_the_complete_new_one(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", POSTS)
    reference: dict[str, dict[str, bytes]] = {}
    for version in "BCA":  # ends on A, the version the output folder starts with
        set_version(site, version)
        run_build(site, tmp_path / f"reference-{version}" / "public")
        reference[version] = tree_bytes(tmp_path / f"reference-{version}" / "public")
    assert len({tuple(sorted(tree.items())) for tree in reference.values()}) == 3
    output = tmp_path / "out" / "public"
    seconds = run_build(site, output)  # as long as the builds to kill take: the body cache is warm
    assert tree_bytes(output) == reference["A"]

    rng = random.Random(7)
    current = "A"
    outcomes: Counter[str] = Counter()
    staging = output.parent / ".public.staging"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for attempt in range(4 * KILLS):
        if outcomes["killed, old site"] + outcomes["killed, new site"] >= KILLS:
            break
        target = {"A": "B", "B": "C", "C": "A"}[current]
        set_version(site, target)
        staging_before = tree_bytes(staging) if staging.is_dir() else {}
        said = tmp_path / f"build-{attempt}.err"
        with said.open("wb") as stderr:
            process = subprocess.Popen(
                build_command(site, output),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own group: the build's worker processes are ended with it
            )
        # any moment; every other kill in the build's second half, where it reconciles and swaps the folders
        time.sleep(rng.uniform(0.0 if attempt % 2 else seconds * 0.4, seconds))
        finished = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        tree = tree_bytes(output)
        if tree == reference[current]:
            # a build that ran to its end and left the old site failed: say what it said
            assert not finished, f"a finished build left the old site (exit {process.returncode}): {said.read_text()}"
            outcomes["killed, old site"] += 1
            if staging.is_dir() and tree_bytes(staging) != staging_before:
                outcomes["of which, killed while writing the staging folder"] += 1
        elif tree == reference[target]:
            outcomes["finished, new site" if finished else "killed, new site"] += 1
            seconds *= 0.85 if finished else 1.0  # a busy machine builds faster than its first build suggested
            current = target
        else:
            pytest.fail(
                f"after a kill the output is neither site: {difference(tree, reference[current], reference[target])}"
            )
    print(f"\nbuilds started and SIGKILLed at random moments: {dict(outcomes)}")
    assert outcomes["killed, old site"] + outcomes["killed, new site"] >= KILLS, f"too few kills landed: {outcomes}"
    assert outcomes["of which, killed while writing the staging folder"] > 0

    # The next complete build cleans up after them all, and leaves only what is kept on purpose.
    make_site(output.parent / ".public.tmp-1234", {"half.html": "half", MARKER: ""})  # a build's: marked
    set_version(site, "B")
    run_build(site, output)
    assert tree_bytes(output) == reference["B"]
    assert sorted(p.name for p in output.parent.iterdir()) == [".public.staging", "public"]


def _site(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    site = make_site(tmp_path / "site", {"content/a.md": post("A", body="Old.")})
    output = tmp_path / "out" / "public"
    build_site(BuildOptions(source=site, output=output, jobs=1, cache=False))
    return site, output, tree_bytes(output)


def test_a_swap_killed_between_its_two_renames_is_finished_even_by_a_failing_build(tmp_path: Path) -> None:
    """Where the kernel has no RENAME_EXCHANGE the swap is three renames; a kill after the first leaves no output."""
    site, output, old = _site(tmp_path)
    output.rename(output.parent / ".public.retired")  # killed right after `output → retired`
    make_site(site, {"content/b.md": "---\ntitle: broken\n---\n"})
    with pytest.raises(SiteError):
        build_site(BuildOptions(source=site, output=output, jobs=1, cache=False))
    assert tree_bytes(output) == old
    assert not (output.parent / ".public.retired").exists()


def test_a_retired_folder_beside_a_complete_output_is_removed(tmp_path: Path) -> None:
    """Killed after `staging → output`: the new site is in place, the old one is left over as .retired."""
    _, output, _ = _site(tmp_path)  # a first build: its staging folder became the output; a new one lists its files
    make_site(output.parent / ".public.retired", {"old.html": "old", MARKER: ""})  # a build's: marked
    make_site(output.parent / ".public.tmp-99", {MARKER: ""})
    recover_output(output)
    assert sorted(p.name for p in output.parent.iterdir()) == [".public.staging", "public"]


def test_the_three_rename_swap_gives_the_same_sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback swap (no renameat2) also ends with the complete new site, and keeps the staging folder."""
    import primer_site.publish.staging as write
    import primer_site.publish.swap as swap

    monkeypatch.setattr(swap, "_exchange", lambda a, b: False)
    site, output, old = _site(tmp_path)
    make_site(site, {"content/a.md": post("A", body="New.")})
    build_site(BuildOptions(source=site, output=output, jobs=1, cache=False))
    new = tree_bytes(output)
    assert new != old and b"New." in new["posts/a/index.html"]
    assert sorted(p.name for p in output.parent.iterdir()) == [".public.staging", "public"]
    assert write_output is write.write_output
