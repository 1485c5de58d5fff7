"""The live preview: watching and batching changes, rebuilding and telling open pages, and `primer-site serve`."""

from __future__ import annotations

import http.client
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixture_sites import NOW_ARG as NOW
from fixture_sites import SRC, make_site, post, run_cli, tree_bytes
from live_server import EventStream, fetch
from primer_site.commands import serve as serve_module
from primer_site.commands.build import BuildOptions
from primer_site.commands.serve import Preview, PreviewReport, RebuildCrashed, RebuildFailed, Rebuilt
from primer_site.preview.server import SiteServer
from primer_site.preview.watch import ChangeBatcher, ChangeSet, SourceWatcher, site_relative

NOW_AT = datetime(2026, 6, 1, tzinfo=UTC)
BROKEN = "---\ntitle: [unclosed\ndate: 2026-01-05\n---\nBroken.\n"


def fixture_site(root: Path) -> Path:
    return make_site(
        root,
        {
            "site.yaml": "title: Live\nbase_url: https://example.org/\n",
            "content/hello.md": post("Hello", body="Original words."),
            "content/other.md": post("Other", date="2026-01-06", body="Other words."),
            "static/css/extra.css": "p { color: black }\n",
        },
    )


def options(source: Path) -> BuildOptions:
    return BuildOptions(source=source, now=NOW_AT)


class Batches:
    """A fake rebuild callable: records each ChangeSet it is handed, and lets a test wait for them."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.calls: list[ChangeSet] = []
        self.running = 0
        self.overlapped = False
        self._hold = hold
        self._changed = threading.Condition()

    def __call__(self, changes: ChangeSet) -> None:
        with self._changed:
            self.running += 1
            self.overlapped |= self.running > 1
        if self._hold is not None:
            self._hold.wait(5)
        with self._changed:
            self.running -= 1
            self.calls.append(changes)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ChangeSet]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.calls) >= count, timeout), f"{self.calls} after {timeout} s"
            return list(self.calls)


# ---------------------------------------------------------------- what counts as a change


def test_a_change_set_is_css_only_when_only_stylesheets_changed() -> None:
    assert ChangeSet(frozenset({"static/css/style.css", "static/a.CSS"})).css_only
    assert not ChangeSet(frozenset({"static/css/style.css", "content/x.md"})).css_only
    assert not ChangeSet(frozenset({"templates/x.css"})).css_only
    assert not ChangeSet(frozenset()).css_only


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("content/x.md", "content/x.md"),
        ("content/deep/er/x.png", "content/deep/er/x.png"),
        ("series/s.md", "series/s.md"),
        ("templates/post.html", "templates/post.html"),
        ("static/css/style.css", "static/css/style.css"),
        ("site.yaml", "site.yaml"),
        ("content", "content"),
        ("public/index.html", None),
        (".primer-cache/serve/x", None),
        ("node_modules/x/y.js", None),
        ("README.md", None),
        ("content/.x.md.swp", None),
        ("content/x.md~", None),
        ("content/.#x.md", None),
        ("content/#x.md#", None),
        ("content/4913", None),
        ("content/x.md.tmp", None),
        ("content/.git/x", None),
        ("static/.DS_Store", None),
    ],
)
def test_which_paths_matter(tmp_path: Path, path: str, expected: str | None) -> None:
    assert site_relative(tmp_path, str(tmp_path / path)) == expected
    assert site_relative(tmp_path / "content", str(tmp_path / path)) in (None, path.removeprefix("content/"))


# ---------------------------------------------------------------- batching


def test_a_burst_of_changes_is_one_batch() -> None:
    batches = Batches()
    batcher = ChangeBatcher(batches, quiet=0.1, max_wait=5)
    try:
        for index in range(100):
            batcher.add([f"content/{index}.md"])
        calls = batches.wait_for(1)
        time.sleep(0.3)
        assert len(batches.calls) == 1 and len(calls[0].paths) == 100
        batcher.add(["content/0.md"])
        assert batches.wait_for(2)[1] == ChangeSet(frozenset({"content/0.md"}))
    finally:
        batcher.close(5)


def test_changes_during_a_rebuild_make_the_next_batch_and_rebuilds_never_overlap() -> None:
    release = threading.Event()
    batches = Batches(hold=release)
    batcher = ChangeBatcher(batches, quiet=0.02, max_wait=5)
    try:
        batcher.add(["content/a.md"])
        time.sleep(0.15)  # the first rebuild is running, held
        batcher.add(["content/b.md"])
        batcher.add(["content/c.md"])
        time.sleep(0.15)
        release.set()
        calls = batches.wait_for(2)
        assert [sorted(c.paths) for c in calls] == [["content/a.md"], ["content/b.md", "content/c.md"]]
        assert not batches.overlapped
    finally:
        release.set()
        batcher.close(5)


def test_a_steady_stream_of_changes_still_rebuilds() -> None:
    batches = Batches()
    batcher = ChangeBatcher(batches, quiet=0.1, max_wait=0.3)
    try:
        started = time.monotonic()
        while not batches.calls and time.monotonic() - started < 3:
            batcher.add(["content/x.md"])
            time.sleep(0.02)
        assert batches.calls and time.monotonic() - started < 1
    finally:
        batcher.close(5)


def test_a_batch_whose_last_event_ended_a_save_waits_only_the_short_quiet() -> None:
    batches = Batches()
    batcher = ChangeBatcher(batches, quiet=30, max_wait=60)  # the full window never ends within the test
    try:
        batcher.add(["content/a.md"])  # created, being written: the full window
        batcher.add(["content/a.md"], settled=True)  # closed after writing: the save is done
        assert batches.wait_for(1, timeout=20) == [ChangeSet(frozenset({"content/a.md"}))]
        batcher.add(["content/b.md"], settled=True)
        batcher.add(["content/c.md"])  # another file mid-save after it: the full window again
        time.sleep(0.5)
        assert len(batches.calls) == 1
    finally:
        batcher.close(5)


@pytest.mark.parametrize("saves", ["in place", "temp then rename", "vim"])
def test_each_save_of_an_editor_is_one_batch_with_the_default_window(tmp_path: Path, saves: str) -> None:
    source = fixture_site(tmp_path / "site")
    post_file = source / "content" / "hello.md"
    batches = Batches()
    with SourceWatcher(source, batches):  # QUIET_SECONDS, and the short quiet after a save ends
        for index in range(5):
            text = post("Hello", body=f"Save {index}. " + "Words. " * 2000)
            if saves == "in place":  # truncate, write, close
                post_file.write_text(text, encoding="utf-8")
            elif saves == "temp then rename":
                temp = source / "content" / ".hello.md.XXXX.tmp"
                temp.write_text(text, encoding="utf-8")
                os.replace(temp, post_file)
            else:  # moved aside (the post is gone for a moment), written anew, the backup dropped
                post_file.rename(source / "content" / "hello.md~")
                post_file.write_text(text, encoding="utf-8")
                (source / "content" / "hello.md~").unlink()
            batches.wait_for(index + 1)
            time.sleep(0.3)
            assert batches.calls == [ChangeSet(frozenset({"content/hello.md"}))] * (index + 1)


def test_ctrl_c_reaching_a_rebuild_ends_the_batcher_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    uncaught: list[object] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    done = threading.Event()

    def interrupted(changes: ChangeSet) -> None:
        done.set()
        raise KeyboardInterrupt  # as when Ctrl-C reaches the build's worker processes

    batcher = ChangeBatcher(interrupted, quiet=0.01)
    batcher.add(["content/x.md"])
    assert done.wait(5)
    batcher.close(5)
    assert uncaught == []


def test_close_stops_the_batcher_thread() -> None:
    batcher = ChangeBatcher(Batches())
    batcher.add(["content/x.md"])
    batcher.close(5)
    assert not [t for t in threading.enumerate() if t.name == "primer-site rebuilds"]


# ---------------------------------------------------------------- the watcher on a real folder


@pytest.fixture
def watched(tmp_path: Path):  # type: ignore[no-untyped-def]
    source = fixture_site(tmp_path / "site")
    batches = Batches()
    watcher = SourceWatcher(source, batches, quiet=0.15, max_wait=5)
    watcher.start()
    try:
        yield source, batches
    finally:
        watcher.close()


def test_an_editor_s_temp_file_then_rename_is_one_change(watched) -> None:  # type: ignore[no-untyped-def]
    source, batches = watched
    post_file = source / "content" / "hello.md"
    # Vim: probe the folder, move the original aside, write anew, drop the backup; others write a temp and rename
    (source / "content" / "4913").write_text("")
    (source / "content" / "4913").unlink()
    post_file.rename(source / "content" / "hello.md~")
    post_file.write_text(post("Hello", body="Saved by vim."), encoding="utf-8")
    (source / "content" / "hello.md~").unlink()
    temp = source / "content" / ".hello.md.XXXX.tmp"
    temp.write_text(post("Hello", body="Saved by an IDE."), encoding="utf-8")
    os.replace(temp, post_file)
    calls = batches.wait_for(1)
    time.sleep(0.4)
    assert batches.calls == [ChangeSet(frozenset({"content/hello.md"}))], calls


def test_a_checkout_of_a_hundred_files_is_one_rebuild(watched) -> None:  # type: ignore[no-untyped-def]
    source, batches = watched
    for index in range(100):
        (source / "content" / f"post-{index:03d}.md").write_text(post(f"Post {index}"), encoding="utf-8")
    calls = batches.wait_for(1)
    time.sleep(0.4)
    assert len(batches.calls) == 1 and len(calls[0].paths) == 100


def test_output_cache_swap_files_and_reads_are_not_changes(watched) -> None:  # type: ignore[no-untyped-def]
    source, batches = watched
    for relative in ("public/index.html", ".primer-cache/serve/x.html", "node_modules/x.js", "README.md"):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text("x")
    (source / "content" / ".hello.md.swp").write_text("x")
    (source / "content" / "hello.md~").write_text("x")
    for path in (source / "content").glob("*.md"):
        path.read_text(encoding="utf-8")  # the build reading its sources
    time.sleep(0.5)
    assert batches.calls == []
    (source / "site.yaml").write_text("title: Renamed\nbase_url: https://example.org/\n")
    assert batches.wait_for(1) == [ChangeSet(frozenset({"site.yaml"}))]


def test_a_watched_folder_created_later_is_watched(watched) -> None:  # type: ignore[no-untyped-def]
    source, batches = watched
    (source / "templates").mkdir()
    batches.wait_for(1)
    time.sleep(0.3)
    (source / "templates" / "post.html").write_text("{{ post.title }}")
    assert any("templates/post.html" in c.paths for c in batches.wait_for(2))


# ---------------------------------------------------------------- the preview


def test_the_preview_builds_into_a_private_folder_and_serves_it(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    reports: list[PreviewReport] = []
    with Preview(options(source), port=0, watch=False, report=reports.append) as preview:
        status, _, page = fetch(preview.server, "/posts/hello/")
        assert status == 200 and b"Original words." in page and b"__primer__" not in page
        folder = preview.options.output
        assert folder is not None and folder.is_dir() and not folder.is_relative_to(source)
    assert not (source / "public").exists() and not folder.exists()
    assert [type(r) for r in reports] == [Rebuilt]


def test_the_preview_does_not_touch_the_built_public_folder(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    assert run_cli("build", "--source", str(source), "--now", NOW).returncode == 0
    before = tree_bytes(source / "public")
    with Preview(BuildOptions(source=source, now=NOW_AT, drafts=True), port=0) as preview:
        (source / "content" / "hello.md").write_text(post("Hello", body="Edited."), encoding="utf-8")
        preview.rebuild(ChangeSet(frozenset({"content/hello.md"})))
    assert tree_bytes(source / "public") == before


def test_each_rebuild_tells_open_pages_what_to_do(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    post_file, css = source / "content" / "hello.md", source / "static" / "css" / "extra.css"
    reports: list[PreviewReport] = []
    with (
        Preview(options(source), port=0, report=reports.append) as preview,
        EventStream(preview.server, settled=preview.wait_settled) as events,
    ):
        assert events.next_state() == {"epoch": 1, "change": "page", "diagnostics": []}

        post_file.write_text(post("Hello", body="Edited words."), encoding="utf-8")
        assert events.next_state() == {"epoch": 2, "change": "page", "diagnostics": []}
        assert b"Edited words." in fetch(preview.server, "/posts/hello/")[2]

        post_file.write_text(BROKEN, encoding="utf-8")
        state = events.next_state()
        assert state["epoch"] == 2 and [(d["path"], d["line"]) for d in state["diagnostics"]] == [
            ("content/hello.md", 3)
        ]
        assert b"Edited words." in fetch(preview.server, "/posts/hello/")[2]  # the last good build, still served

        css.write_text("p { color: red }\n", encoding="utf-8")  # still broken: the errors again
        assert events.next_state()["diagnostics"]
        post_file.write_text(post("Hello", body="Fixed words."), encoding="utf-8")
        # the post changed since the last good build, so pages reload even though the last save was CSS
        assert events.next_state() == {"epoch": 3, "change": "page", "diagnostics": []}
        assert b"Fixed words." in fetch(preview.server, "/posts/hello/")[2]

        css.write_text("p { color: blue }\n", encoding="utf-8")
        assert events.next_state() == {"epoch": 4, "change": "css", "diagnostics": []}
        assert preview.options.output is not None
        [served] = preview.options.output.glob("css/extra*.css")  # its name may carry a content hash
        assert fetch(preview.server, f"/css/{served.name}")[2] == b"p { color: blue }\n"
    kinds = [type(r).__name__ for r in reports]
    assert kinds == ["Rebuilt", "Rebuilt", "RebuildFailed", "RebuildFailed", "Rebuilt", "Rebuilt"]
    assert isinstance(reports[2], RebuildFailed) and reports[2].changes == ChangeSet(frozenset({"content/hello.md"}))


def test_deleting_a_post_removes_its_page(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    with (
        Preview(options(source), port=0) as preview,
        EventStream(preview.server, settled=preview.wait_settled) as events,
    ):
        events.next_state()
        (source / "content" / "other.md").unlink()
        assert events.next_state()["epoch"] == 2
        assert fetch(preview.server, "/posts/other/")[0] == 404


def test_a_failing_first_build_is_reported_and_the_server_stays_up(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    (source / "content" / "hello.md").write_text(BROKEN, encoding="utf-8")
    reports: list[PreviewReport] = []
    with (
        Preview(options(source), port=0, report=reports.append) as preview,
        EventStream(preview.server, settled=preview.wait_settled) as events,
    ):
        assert events.next_state()["diagnostics"][0]["path"] == "content/hello.md"
        for path in ("/", "/posts/hello/", "/css/style.css"):  # every page says so: no bare 404
            status, _, page = fetch(preview.server, path)
            assert status == 503 and b"__primer__/live.js" in page  # the overlay shows on it
            assert b"<h1>primer-site: there is no good build of the site yet</h1>" in page
            assert b"<li><code>content/hello.md:3: error: YAML syntax: " in page
        (source / "content" / "hello.md").write_text(post("Hello", body="Fixed."), encoding="utf-8")
        assert events.next_state() == {"epoch": 1, "change": "page", "diagnostics": []}
        assert fetch(preview.server, "/")[0] == 200
    assert isinstance(reports[0], RebuildFailed) and not reports[0].served


def test_a_bug_in_the_build_is_reported_with_its_traceback_and_the_server_stays_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = fixture_site(tmp_path / "site")
    reports: list[PreviewReport] = []
    with Preview(options(source), port=0, watch=True, report=reports.append) as preview:

        def broken_build(options: BuildOptions, *rest: object) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(serve_module, "build_site", broken_build)
        preview.rebuild(ChangeSet(frozenset({"content/hello.md"})))
        assert isinstance(reports[-1], RebuildCrashed) and "RuntimeError: a bug" in reports[-1].traceback
        assert "a bug" in preview.server.channel.state.diagnostics[0].message
        assert fetch(preview.server, "/posts/hello/")[0] == 200


def test_the_preview_serves_under_the_base_path(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    (source / "site.yaml").write_text("title: Live\nbase_url: https://example.org/primer/\n", encoding="utf-8")
    with Preview(options(source), port=0) as preview:
        assert preview.url.endswith("/primer/")
        status, _, page = fetch(preview.server, "/primer/posts/hello/")
        assert status == 200 and b'href="/primer/css/style.' in page
        assert b'src="/primer/__primer__/live.js"' in page


def test_closing_the_preview_ends_its_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with (
        Preview(options(fixture_site(tmp_path / "site")), port=0) as preview,
        EventStream(preview.server, settled=preview.wait_settled) as events,
    ):
        events.next_state()
    time.sleep(0.1)
    assert {t for t in threading.enumerate() if t.is_alive()} - before == set()


def test_closing_the_preview_ends_its_katex_process(tmp_path: Path) -> None:
    """The preview keeps one Node process for KaTeX between rebuilds; closing it ends that process too (a test
    run or an editor plugin that opens previews one after another must not pile them up)."""
    from test_workers import children

    source = make_site(
        tmp_path / "site",
        {"site.yaml": "title: Live\nbase_url: https://example.org/\n", "content/m.md": post("M", body="$x^2$")},
    )
    before = children(os.getpid())
    with Preview(BuildOptions(source=source, now=NOW_AT, check_math=True), port=0, watch=False) as preview:
        running = children(os.getpid()) - before
        assert running, "the check started no KaTeX process: the test proves nothing"
    deadline = time.monotonic() + 10
    while children(os.getpid()) & running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children(os.getpid()) & running == set()
    assert preview.memory.katex is None or preview.memory.katex._worker is None


# ---------------------------------------------------------------- the command


def _serve(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-m", "primer_site", "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(stream) -> queue.Queue[str]:  # type: ignore[no-untyped-def]
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def test_serve_prints_the_url_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    process = _serve("--source", str(source), "--port", "0", "--now", NOW)
    try:
        lines = _lines(process.stdout)
        printed = [lines.get(timeout=20), lines.get(timeout=20)]
        assert printed[0].startswith("built "), printed
        assert printed[1].startswith(f"serving {source} at http://127.0.0.1:"), printed
        url = printed[1].split(" at ")[1].split()[0]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/posts/hello/")
        response = connection.getresponse()
        assert response.status == 200 and b"Original words." in response.read()
        connection.close()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and stderr.strip() == ""
    with SiteServer(tmp_path, port=port):  # the port was released
        pass


def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    with SiteServer(tmp_path, port=0) as taken:
        result = run_cli("serve", "--source", str(source), "--port", str(taken.port), "--no-watch")
    assert result.returncode == 1
    assert result.stderr == (
        f"primer-site serve: cannot serve on 127.0.0.1:{taken.port}: the port is in use "
        "(choose another with --port, or --port 0 for a free one)\n"
    )
    assert not (source / "public").exists()


def test_a_bad_port_is_refused() -> None:
    result = run_cli("serve", "--port", "70000")
    assert result.returncode == 2 and "'70000' is not a port number" in result.stderr


def test_the_live_reload_script_is_never_in_build_output(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    assert run_cli("build", "--source", str(source), "--now", NOW).returncode == 0
    built = tree_bytes(source / "public")
    assert "posts/hello/index.html" in built
    assert [p for p, data in built.items() if b"__primer__" in data or b"EventSource" in data] == []


def test_serve_on_a_broken_site_says_there_is_no_good_build_yet(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    (source / "content" / "hello.md").write_text(BROKEN, encoding="utf-8")
    process = _serve("-s", str(source), "-p", "0", "--no-watch")
    try:
        out, err = _lines(process.stdout), _lines(process.stderr)
        serving = out.get(timeout=20)
        assert serving.startswith(f"serving {source} at http://127.0.0.1:"), serving
        assert err.get(timeout=5).startswith("content/hello.md:3: error: YAML syntax: ")
        assert err.get(timeout=5) == (
            "build failed: 1 error; no good build yet: the pages show the errors until they are fixed\n"
        )
        port = int(serving.split(" at ")[1].split()[0].rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/posts/hello/")
        response = connection.getresponse()
        page = response.read()
        connection.close()
        assert response.status == 503 and b"there is no good build of the site yet" in page
        assert b"start primer-site serve again (it is not watching for changes)" in page
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0


def test_a_chapter_falling_due_while_the_preview_runs_is_published_then(tmp_path: Path) -> None:
    """As a build run at that moment would: the preview builds again when the next scheduled post falls due."""
    due = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    source = fixture_site(tmp_path / "site")
    make_site(source, {"content/soon.md": post("Soon", date=due.isoformat(), body="Due shortly.")})
    with (
        Preview(BuildOptions(source=source), port=0) as preview,
        EventStream(preview.server, settled=preview.wait_settled) as events,
    ):
        events.next_state()
        assert fetch(preview.server, "/posts/soon/")[0] == 404
        assert events.next_state()["epoch"] == 2  # no file changed: the clock did
        assert datetime.now(UTC) >= due
        status, _, page = fetch(preview.server, "/posts/soon/")
        assert status == 200 and b"Due shortly." in page


# ---------------------------------------------------------------- the watcher's paths are a hint, never the whole story


def _site_with_a_linked_post(tmp_path: Path) -> tuple[Path, Path]:
    """A site that follows links outside it, whose content/linked.md links to a post in another folder:
    (the site, that folder)."""
    source = fixture_site(tmp_path / "site")
    config = source / "site.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "follow_links_outside: true\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "linked.md").write_text(post("Linked", body="First words."), encoding="utf-8")
    (source / "content" / "linked.md").symlink_to(elsewhere / "linked.md")
    return source, elsewhere


def test_an_edit_to_the_file_a_linked_post_points_to_is_seen_by_the_next_rebuild(tmp_path: Path) -> None:
    # the watcher reports the edit at the target's path, outside the site, or not at all: the rebuild that
    # follows any other change must still see it (every file is looked at by its stamp)
    source, elsewhere = _site_with_a_linked_post(tmp_path)
    (elsewhere / "s.md").write_text("---\ntitle: First series title\n---\n", encoding="utf-8")
    (source / "series").mkdir()
    (source / "series" / "s.md").symlink_to(elsewhere / "s.md")
    with Preview(options(source), port=0, watch=False) as preview:
        assert b"First words." in fetch(preview.server, "/posts/linked/")[2]
        (elsewhere / "linked.md").write_text(post("Linked", body="Second words, longer."), encoding="utf-8")
        (elsewhere / "s.md").write_text("---\ntitle: Second series title\n---\n", encoding="utf-8")
        (source / "content" / "other.md").write_text(post("Other", date="2026-01-06", body="Edited."))
        preview.rebuild(ChangeSet(frozenset({"content/other.md"})))
        assert b"Second words, longer." in fetch(preview.server, "/posts/linked/")[2]
        assert b"Second series title" in fetch(preview.server, "/series/s/")[2]
        preview.rebuild(ChangeSet(frozenset()))  # and a rebuild told of nothing at all looks too
        (elsewhere / "linked.md").write_text(post("Linked", body="Third words."), encoding="utf-8")
        preview.rebuild(ChangeSet(frozenset()))
        assert b"Third words." in fetch(preview.server, "/posts/linked/")[2]


@pytest.mark.parametrize("how", ["in place", "renamed over"])
@pytest.mark.parametrize("where", ["static/css/extra.css", "content/notes.txt"])
def test_a_file_replaced_by_one_of_the_same_size_and_time_is_published(tmp_path: Path, how: str, where: str) -> None:
    # `cp -p` writes in place and sets the old time back; `rsync -t` and `tar x` rename a new file over it
    source = fixture_site(tmp_path / "site")
    (source / where).write_text("old bytes\n", encoding="utf-8")
    served = "/" + where.removeprefix("static/").removeprefix("content/")
    old = time.time_ns() - 10**10  # well before the build: stamps this old are trusted
    os.utime(source / where, ns=(old, old))
    with Preview(options(source), port=0, watch=False) as preview:
        status, _, page = fetch(preview.server, served)
        assert (status, page) == (200, b"old bytes\n")
        if how == "in place":
            (source / where).write_text("new bytes\n", encoding="utf-8")
        else:
            (source / f"{where}.part").write_text("new bytes\n", encoding="utf-8")
            os.replace(source / f"{where}.part", source / where)
        os.utime(source / where, ns=(old, old))
        time.sleep(2.1)  # and the change time, which no tool sets back, is old enough to trust too
        preview.rebuild(ChangeSet(frozenset({where})))
        assert fetch(preview.server, served)[2] == b"new bytes\n"


def test_a_post_dated_centuries_ahead_waits_without_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a wait to 2400-01-01 is longer than any timer allows (OverflowError in the timer's thread): the preview
    # waits in laps of at most a day instead, and still publishes the post once it falls due
    laps: list[float] = []
    real_timer = threading.Timer

    def timer(seconds: float, function, args=()):  # type: ignore[no-untyped-def]
        laps.append(seconds)
        return real_timer(min(seconds, 0.05), function, args)

    monkeypatch.setattr(serve_module.threading, "Timer", timer)
    failures: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda info: failures.append(info.exc_value))
    source = fixture_site(tmp_path / "site")
    make_site(source, {"content/far.md": post("Far", date="2400-01-01", body="Far ahead.")})
    with Preview(BuildOptions(source=source), port=0) as preview:
        time.sleep(0.5)  # several laps
        assert fetch(preview.server, "/posts/far/")[0] == 404
        assert not failures
    assert len(laps) >= 3 and all(0 < lap <= 86_400 for lap in laps)


def test_a_link_loop_made_and_removed_while_serving_leaves_the_preview_live(tmp_path: Path) -> None:
    source = fixture_site(tmp_path / "site")
    with (
        Preview(options(source), port=0) as preview,
        EventStream(preview.server, settled=preview.wait_settled) as events,
    ):
        assert events.next_state()["epoch"] == 1
        (source / "content" / "loop").symlink_to("..", target_is_directory=True)
        assert "symlink loop" in events.next_state()["diagnostics"][0]["message"]
        (source / "content" / "loop").unlink()
        assert events.next_state() == {"epoch": 2, "change": "page", "diagnostics": []}
        (source / "content" / "hello.md").write_text(post("Hello", body="After the loop."), encoding="utf-8")
        assert events.next_state() == {"epoch": 3, "change": "page", "diagnostics": []}
        assert b"After the loop." in fetch(preview.server, "/posts/hello/")[2]


# ---------------------------------------------------------------- look first, verify after
# A rebuild looks first at the paths the watcher reported and serves that; then every file is looked at by its
# stamp, and the site is built and served again only if that found a change the first look missed.


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """Count the calls to `module.name` (a stage the build calls): [calls]."""
    calls = [0]
    real = getattr(module, name)

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_an_unreported_edit_through_a_link_is_found_by_the_verification_and_served_again(tmp_path: Path) -> None:
    source, elsewhere = _site_with_a_linked_post(tmp_path)
    reports: list[PreviewReport] = []
    with Preview(options(source), port=0, watch=False, report=reports.append) as preview:
        (elsewhere / "linked.md").write_text(post("Linked", body="Second words."), encoding="utf-8")
        (source / "content" / "other.md").write_text(post("Other", date="2026-01-06", body="Edited."))
        preview.rebuild(ChangeSet(frozenset({"content/other.md"})))  # as the watcher tells it: not the target
        # the first look served the reported edit; the verification found the target's and served it again
        assert preview.server.channel.state.epoch == 3
        assert b"Second words." in fetch(preview.server, "/posts/linked/")[2]
        assert b"Edited." in fetch(preview.server, "/posts/other/")[2]
    assert [type(r) for r in reports] == [Rebuilt, Rebuilt, Rebuilt]
    first, second = reports[-2:]
    assert isinstance(first, Rebuilt) and isinstance(second, Rebuilt)
    assert "posts/other/index.html" in first.result.rendered
    assert "posts/linked/index.html" not in first.result.rendered
    assert "posts/linked/index.html" in second.result.rendered


def test_a_post_replaced_with_the_same_size_and_time_unreported_is_found_by_the_verification(tmp_path: Path) -> None:
    # `cp -p` over a post: its size and modification time as they were, and the watcher told of another file only
    source = fixture_site(tmp_path / "site")
    target = source / "content" / "hello.md"
    target.write_text(post("Hello", body="Old words."), encoding="utf-8")
    old = time.time_ns() - 10**10  # well before the build: a trusted stamp
    os.utime(target, ns=(old, old))
    with Preview(options(source), port=0, watch=False) as preview:
        assert b"Old words." in fetch(preview.server, "/posts/hello/")[2]
        (source / "new.md").write_text(post("Hello", body="New words."), encoding="utf-8")
        os.replace(source / "new.md", target)
        os.utime(target, ns=(old, old))
        (source / "content" / "other.md").write_text(post("Other", date="2026-01-06", body="Edited."))
        preview.rebuild(ChangeSet(frozenset({"content/other.md"})))
        assert b"New words." in fetch(preview.server, "/posts/hello/")[2]
        assert b"Edited." in fetch(preview.server, "/posts/other/")[2]


def test_a_verification_that_finds_nothing_assembles_and_renders_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from primer_site.commands import build as build_module

    source = fixture_site(tmp_path / "site")
    reports: list[PreviewReport] = []
    with Preview(options(source), port=0, watch=False, report=reports.append) as preview:
        assembled = _counting(monkeypatch, build_module, "assemble_site")
        rendered = _counting(monkeypatch, build_module, "render_site")
        owners = _counting(monkeypatch, build_module, "page_owners")  # per post: made only for a collision
        (source / "content" / "hello.md").write_text(post("Hello", body="Edited words."), encoding="utf-8")
        preview.rebuild(ChangeSet(frozenset({"content/hello.md"})))
        assert b"Edited words." in fetch(preview.server, "/posts/hello/")[2]
        assert (assembled[0], rendered[0]) == (1, 1), "the first look only: the verification found nothing"
        preview.rebuild(ChangeSet(frozenset({"content/hello.md"})))  # saved again, unchanged
        assert (assembled[0], rendered[0]) == (2, 2)
        assert owners[0] == 0
    assert [type(r) for r in reports] == [Rebuilt, Rebuilt, Rebuilt]


_LOOKS = ("stat", "lstat", "scandir", "listdir", "open", "access")


def _file_looks(monkeypatch: pytest.MonkeyPatch, under: list[str]) -> dict[str, int]:
    """Count the file-system calls (os.stat, lstat, scandir, listdir, open, access, and the builtin open) whose
    path is below one of `under`: {call: count}."""
    import builtins
    import io

    counts = dict.fromkeys(_LOOKS, 0)

    def counting(name: str, real):  # type: ignore[no-untyped-def]
        def call(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(tuple(under)):
                counts[name] += 1
            return real(path, *args, **kwargs)

        return call

    for name in _LOOKS:
        monkeypatch.setattr(os, name, counting(name, getattr(os, name)))
    monkeypatch.setattr(builtins, "open", counting("open", builtins.open))
    monkeypatch.setattr(io, "open", counting("open", io.open))  # pathlib's
    return counts


@pytest.mark.parametrize("posts", [[4, 16, 64]])
def test_the_first_look_reads_what_was_told_whatever_the_site_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: list[int]
) -> None:
    """The first step's file-system work follows the change, not the site: one edited post among 4, 16 or 64 is
    looked at with the same calls; the verification then looks at every file (its work grows with the site)."""
    from primer_site.commands.build import build_site, sources_settled
    from primer_site.commands.buildoptions import BuildMemory

    first_looks, verifications = [], []
    for count in posts:
        files = {f"content/p{n:03}.md": post(f"P{n}", body=f"Words {n}.") for n in range(count)}
        files["series/s.md"] = "---\ntitle: S\n---\nA series.\n"
        source = make_site(tmp_path / f"site{count}", files)
        chosen = BuildOptions(source=source, output=tmp_path / f"out{count}", now=NOW_AT, jobs=1)
        memory = BuildMemory()
        try:
            build_site(chosen, memory)
            (source / "content" / "p001.md").write_text(post("P1", body="Edited."), encoding="utf-8")
            with monkeypatch.context() as patch:
                counts = _file_looks(patch, [str(source / "content"), str(source / "series")])
                build_site(chosen, memory, {"content/p001.md"}, first_look=True)
                first_looks.append(dict(counts))
                counts.update(dict.fromkeys(counts, 0))
                assert sources_settled(chosen, memory)
                verifications.append(sum(counts.values()))
        finally:
            memory.close()
        assert "Edited." in (tmp_path / f"out{count}" / "posts" / "p001" / "index.html").read_text(encoding="utf-8")
    assert first_looks[0] == first_looks[1] == first_looks[2], first_looks
    assert 0 < sum(first_looks[0].values()) <= 12, first_looks[0]  # the told file: its stat, link check, digest, read
    assert verifications[0] < verifications[1] < verifications[2]  # the verification does look at everything


def test_a_verification_stops_when_more_changes_wait_and_the_next_one_finds_what_it_missed(tmp_path: Path) -> None:
    from primer_site.commands.build import build_site, sources_settled
    from primer_site.commands.buildoptions import BuildMemory

    source = fixture_site(tmp_path / "site")
    chosen = BuildOptions(source=source, output=tmp_path / "out", now=NOW_AT, jobs=1)
    memory = BuildMemory()
    try:
        build_site(chosen, memory)
        old = time.time_ns() - 10**10
        unreported = source / "content" / "other.md"
        unreported.write_text(post("Other", date="2026-01-06", body="Unreported."), encoding="utf-8")
        os.utime(unreported, ns=(old, old))
        (source / "content" / "hello.md").write_text(post("Hello", body="Reported."), encoding="utf-8")
        build_site(chosen, memory, {"content/hello.md"}, first_look=True)
        assert "Other words." in (tmp_path / "out" / "posts" / "other" / "index.html").read_text(encoding="utf-8")
        assert sources_settled(chosen, memory, lambda: True) is None  # stopped: a batch is waiting
        assert sources_settled(chosen, memory) is False  # the next verification still finds the missed edit
        build_site(chosen, memory, ())
        assert sources_settled(chosen, memory) is True
    finally:
        memory.close()
    assert "Unreported." in (tmp_path / "out" / "posts" / "other" / "index.html").read_text(encoding="utf-8")


def test_a_change_found_by_the_verification_after_a_stylesheet_edit_reloads_the_pages(tmp_path: Path) -> None:
    # the first look publishes the CSS-only change as a stylesheet swap; what the verification finds is no stylesheet
    source, elsewhere = _site_with_a_linked_post(tmp_path)
    states = []
    with Preview(options(source), port=0, watch=False) as preview:
        real = preview.server.publish
        preview.server.publish = lambda state: (states.append((state.epoch, state.change)), real(state))  # type: ignore[method-assign]
        (elsewhere / "linked.md").write_text(post("Linked", body="Second words."), encoding="utf-8")
        (source / "static" / "css" / "extra.css").write_text("p { color: red }\n", encoding="utf-8")
        preview.rebuild(ChangeSet(frozenset({"static/css/extra.css"})))
        assert b"Second words." in fetch(preview.server, "/posts/linked/")[2]
    assert states == [(2, "css"), (3, "page")]
