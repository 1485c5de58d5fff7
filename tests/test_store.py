"""The store's file rule (store.Store.read): an entry is given back while the file's stamp is the same, and while
the stamp is too recent to trust (git's racy rule) only if the bytes are the same too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from primer_site import salts, store
from primer_site.store import Store


def _reader(path: Path, store_: Store, made: list[str]):  # type: ignore[no-untyped-def]
    def make() -> str:
        made.append(path.read_text())
        return made[-1]

    return lambda: store_.read("post", path, "k", make)


def test_an_entry_made_while_its_file_was_racy_is_kept_once_the_same_stamp_is_old_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.md"
    path.write_text("one")
    made: list[str] = []
    read = _reader(path, Store(), made)
    first = read()  # just written: racy, kept with the digest of its bytes
    later = os.stat(path).st_mtime + 60
    monkeypatch.setattr(store.time, "time", lambda: later)  # the same file, a minute on: its stamp is trusted
    assert read() is first and read() is first
    assert made == ["one"], "the file was made again though neither its stamp nor its bytes changed"


def test_bytes_changed_under_the_same_racy_stamp_are_read_again_once_it_is_old_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.md"
    path.write_text("one")
    made: list[str] = []
    read = _reader(path, Store(), made)
    read()
    stat = os.stat(path)
    path.write_text("two")  # the same size, then the old times put back: a stamp that cannot tell
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    later = stat.st_mtime + 60
    monkeypatch.setattr(store.time, "time", lambda: later)
    assert read() == "two"
    assert made == ["one", "two"]


def test_library_versions_are_importlib_metadatas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from the .dist-info folders' names, as importlib.metadata would find them (which the salts no longer
    import: ~0.03 s of every build); anything else is asked of importlib.metadata itself."""
    from importlib.metadata import version

    for library in (*salts._LIBRARIES, "pytest", "primer-site"):
        assert salts.library_version.__wrapped__(library) == version(library)
    assert salts.library_version.__wrapped__("no-such-distribution-anywhere") == "?"
    # the first folder of sys.path that has one wins; names compared normalized; an .egg-info is asked of
    # importlib.metadata (its version is inside)
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "Fancy_Name-2.0rc1.dist-info").mkdir(parents=True)
    (first / "Fancy_Name-2.0rc1.dist-info" / "METADATA").write_text("Name: Fancy_Name\nVersion: 2.0rc1\n")
    (second / "fancy.name-1.0.dist-info").mkdir(parents=True)
    (first / "old_style.egg-info").mkdir()
    (first / "old_style.egg-info" / "PKG-INFO").write_text("Name: old-style\nVersion: 0.9\n")
    monkeypatch.setattr("sys.path", [str(first), str(second), *__import__("sys").path])
    salts._folder_names.cache_clear()
    try:
        assert salts.library_version.__wrapped__("fancy-name") == version("fancy-name") == "2.0rc1"
        assert salts.library_version.__wrapped__("old-style") == version("old-style") == "0.9"
    finally:
        salts._folder_names.cache_clear()


def test_let_go_drops_the_named_slots_or_everything() -> None:
    store = Store()
    kept, dropped = store.slot("bodies", dict), store.slot("assemble", dict)
    store.memo("post", "a.md", 1, lambda: "made")
    store.let_go("assemble")
    assert store.slot("bodies", dict) is kept
    assert store.slot("assemble", dict) is not dropped  # made afresh when asked again
    assert store.memo("post", "a.md", 1, lambda: "again") == "made"
    store.let_go()
    assert store.slot("bodies", dict) is not kept
    assert store.memo("post", "a.md", 1, lambda: "again") == "again"


def _code_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths Path.read_bytes reads from now on."""
    read: list[str] = []
    real = Path.read_bytes

    def counted(self: Path) -> bytes:
        read.append(str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    return read


def test_the_code_salt_of_a_new_process_reads_no_code_file_whose_stamp_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every process salts what it keeps with a digest of the package's code: made once and kept beside the bytecode,
    # then the ~140 files are stat'ed, not read and hashed again (~1.2 MB, ~5 ms of every build). Counted: the
    # package's files a second process's salt reads (every one of them, before)
    import sys

    monkeypatch.setattr(salts, "kept_path", lambda source, suffix: str(tmp_path / f"kept{suffix}"), raising=False)
    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # a fresh checkout's files are kept too
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    package = str(Path(store.__file__).resolve().parent)
    read = _code_reads(monkeypatch)
    first = salts.code_salt.__wrapped__()
    assert sum(path.startswith(package) for path in read) > 100
    read.clear()
    assert salts.code_salt.__wrapped__() == first
    assert [path for path in read if path.startswith(package)] == []


def test_a_changed_code_file_changes_the_kept_code_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    package = tmp_path / "package"
    (package / "stage").mkdir(parents=True)
    files = {"a.py": "x = 1\n", "stage/b.py": "y = 2\n", "stage/c.js": "z;\n", "notes.txt": "no code\n"}
    for name, text in files.items():
        (package / name).write_text(text)
    kept = str(tmp_path / "digest.code")
    read = _code_reads(monkeypatch)
    first = salts.code_digest(str(package), kept)
    assert sorted(Path(p).relative_to(package).as_posix() for p in read) == ["a.py", "stage/b.py", "stage/c.js"]
    read.clear()
    assert salts.code_digest(str(package), kept) == first and read == []
    (package / "stage/b.py").write_text("y = 3\n")  # the same size: its stamp's times and the bytes tell
    # a clock of coarse ticks (4 ms: ext4, XFS before Linux 6.13) gives a save this soon its last times, which the
    # racy rule (patched out here) would catch: the modification time set back a second, as a later tick would move it
    info = os.stat(package / "stage/b.py")
    os.utime(package / "stage/b.py", ns=(info.st_atime_ns, info.st_mtime_ns - 10**9))
    changed = salts.code_digest(str(package), kept)
    assert changed != first and len(read) == 3
    (package / "stage/d.py").write_text("")  # a new module
    assert salts.code_digest(str(package), kept) not in (first, changed)
    os.unlink(package / "stage/d.py")
    assert salts.code_digest(str(package), kept) == changed
    assert salts.code_digest(str(package), None) == changed  # kept nowhere: the same digest, made
