"""A ledger's dependencies as read from disk (DependencyLines): one text, a line each, split into pairs only when
asked, numbered as they were, whatever the names hold."""

from __future__ import annotations

from array import array

from primer_site.caches.ledger import DependencyLedger, DependencyLines, PackedFingerprints, dependency_text


def _ledger(table: list[tuple[str, str]]) -> tuple[DependencyLedger, DependencyLines]:
    text = dependency_text(table)
    assert text is not None
    lines = DependencyLines(text)
    by_what: dict[str, array] = {}
    for number, (what, _) in enumerate(table):
        by_what.setdefault(what, array("I")).append(number)
    return DependencyLedger.numbered(lines, PackedFingerprints(bytes(16 * len(table))), {}, by_what), lines


def test_dependencies_read_back_from_their_text_keep_their_numbers() -> None:
    table = [("post:a.md", "title"), ("post:a.md", "body_html"), ("template", "post.html"), ("i18n", "a\x00b")]
    table += [(f"post:{n}.md", "title") for n in range(50)] + [("global", "")]
    ledger, lines = _ledger(table)
    assert list(lines) == table and [lines[n] for n in range(len(table))] == table
    assert [ledger.number(dependency) for dependency in table] == list(range(len(table)))
    assert ledger.number(("post:a.md", "date")) == len(table)  # a new one: the next number
    assert ledger.table[len(table)] == ("post:a.md", "date") and ledger.number(("post:a.md", "date")) == len(table)
    assert list(DependencyLines(dependency_text(ledger.table) or "")) == [*table, ("post:a.md", "date")]


def test_names_that_hold_a_separator_are_never_split_wrongly() -> None:
    odd = [("post:a\nb.md", "title"), ("post:a\x00b.md", "title"), ("template", "x\ny")]
    for dependency in odd:
        assert dependency_text([("post:c.md", "title"), dependency]) is None  # kept as pairs instead
    ledger, lines = _ledger([("post:c.md", "title")])
    for dependency in odd:
        number = ledger.number(dependency)
        assert lines[number] == dependency and ledger.number(dependency) == number
    assert dependency_text(lines) is None and list(lines) == [("post:c.md", "title"), *odd]
    assert dependency_text([]) == "" and list(DependencyLines("")) == []


def test_asking_every_dependency_reads_each_line_once_however_many_an_object_has() -> None:
    """A build that renders every page asks for every dependency: each line is split once, not once per ask."""
    read = []

    class Counted(DependencyLines):
        def __getitem__(self, number: int) -> tuple[str, str]:  # type: ignore[override]
            read.append(number)
            return super().__getitem__(number)

    for fields in (10, 40):
        table = [(f"post:{n}.md", f"field{f}") for n in range(20) for f in range(fields)]
        lines = Counted(dependency_text(table) or "")
        by_what: dict[str, array] = {}
        for number, (what, _) in enumerate(table):
            by_what.setdefault(what, array("I")).append(number)
        ledger = DependencyLedger.numbered(lines, PackedFingerprints(bytes(16 * len(table))), {}, by_what)
        read.clear()
        assert [ledger.number(dependency) for dependency in reversed(table)] == list(reversed(range(len(table))))
        assert len(read) == len(table)
