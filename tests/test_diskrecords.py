"""The last build's record on disk: a part is given back only as it was written whole by this code; a part that
cannot be written leaves no record; only the newest output folders' records are kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import primer_site.diskrecords as diskrecords
from primer_site.diskrecords import keep_bytes, keep_newest, recall_bytes


def _builds(site: Path) -> Path:
    return site / ".primer-cache" / "builds"


def test_a_part_comes_back_as_it_was_kept(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    assert keep_bytes(tmp_path, "out", "render", data) is None
    assert recall_bytes(tmp_path, "out", "render") == data
    assert recall_bytes(tmp_path, "out", "record") is None  # never kept
    assert recall_bytes(tmp_path, "other", "render") is None


@pytest.mark.parametrize("damage", ["truncated", "flipped", "foreign code", "empty"])
def test_a_damaged_or_foreign_part_is_not_given_back(tmp_path: Path, damage: str, monkeypatch) -> None:
    assert keep_bytes(tmp_path, "out", "record", b"x" * 5000) is None
    [path] = _builds(tmp_path).glob("out.record.*")
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:-1])
    elif damage == "flipped":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # the same bytes, read by another version of primer-site
        monkeypatch.setattr(diskrecords, "code_salt", lambda: "another version")
    assert recall_bytes(tmp_path, "out", "record") is None


def test_a_part_that_cannot_be_written_drops_the_record_and_says_why(tmp_path: Path, monkeypatch) -> None:
    assert keep_bytes(tmp_path, "out", "render", b"memory") is None
    assert keep_bytes(tmp_path, "out", "record", b"record") is None
    real_replace = os.replace

    def full_disk(source: object, target: object) -> None:
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(diskrecords.os, "replace", full_disk)
    reason = keep_bytes(tmp_path, "out", "render", b"newer memory")
    monkeypatch.setattr(diskrecords.os, "replace", real_replace)
    assert reason is not None and "No space left on device" in reason
    # the record named the old memory: neither is left to be taken for this build's, and no temporary file either
    assert recall_bytes(tmp_path, "out", "record") is None and recall_bytes(tmp_path, "out", "render") is None
    assert list(_builds(tmp_path).iterdir()) == []


def test_only_the_newest_folders_records_are_kept(tmp_path: Path) -> None:
    for number in range(diskrecords._RECORDS_KEPT + 3):
        name = f"out{number}"
        assert keep_bytes(tmp_path, name, "render", b"m") is None
        assert keep_bytes(tmp_path, name, "record", b"r") is None
        stamp = 1_000_000 + number  # the newest last: the order the folder's clock may not tell within a tick
        for path in _builds(tmp_path).glob(f"{name}.*"):
            os.utime(path, (stamp, stamp))
        assert keep_newest(tmp_path, name) is None
    kept = sorted({path.name.partition(".")[0] for path in _builds(tmp_path).iterdir()})
    assert kept == sorted(f"out{n}" for n in range(3, diskrecords._RECORDS_KEPT + 3))
    assert len(list(_builds(tmp_path).iterdir())) == 2 * diskrecords._RECORDS_KEPT  # each with its memory
