"""The store on disk: records written as the JSON they are, without holding their whole text at once."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from primer_site import diskstore
from primer_site.diskstore import keep_record, recall_record

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.text(min_size=1).map(lambda text: text * (diskstore._STRING_PIECE // len(text) + 2)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@given(JSON, st.integers(min_value=0, max_value=4))
def test_a_record_written_in_pieces_is_the_json_of_it(value: object, depth: int) -> None:
    pieces: list[str] = []
    diskstore._dump_in_pieces(value, pieces.append, depth)
    assert "".join(pieces) == json.dumps(value, separators=(",", ":"))


def test_a_render_memory_is_written_one_page_at_a_time(tmp_path: Path, monkeypatch) -> None:
    """No write holds more than one page's entry or a slice of a long string: the text of the whole memory is
    never made."""
    pages = [[f"posts/p{i}/index.html", "ab" * 16, "cd" * 16, "x" * 200] for i in range(2000)]
    data = {"format": 1, "dependencies": "d\x1e\U0001d400" * 400_000, "pages": pages}
    writes: list[int] = []
    real = diskstore._dump_in_pieces

    def counted(value: object, write, depth: int) -> None:
        real(value, lambda text: writes.append(len(text)) or write(text), depth)

    monkeypatch.setattr(diskstore, "_dump_in_pieces", counted)
    assert keep_record(tmp_path, "out", {"render": data}) is None
    assert recall_record(tmp_path, "out", "render") == data
    whole = len(json.dumps(data, separators=(",", ":")))
    assert sum(writes) > whole and max(writes) <= 12 * diskstore._STRING_PIECE < whole // 4
