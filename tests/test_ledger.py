"""A ledger's dependencies as read from disk (DependencyLines): one text, a line each, split into pairs only when
asked, numbered as they were, whatever the names hold."""

from __future__ import annotations

from array import array
from pathlib import Path

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


def test_a_memory_whose_page_list_cannot_be_kept_is_still_saved_after_a_renumbering() -> None:
    """The page list is kept only when every spec's context has a row (`_stored`); its reads are then left out of
    the kept numbers, and a renumbering dump once mapped them through the new numbers anyway: KeyError after the
    site was written."""
    from array import array

    from primer_site.rendering.pages import PageSpec
    from primer_site.rendering.rendermemory import PageRecord, RenderMemory

    class Previous:  # a settled ledger's fingerprints
        resolvers = {"resolver": lambda name: name}  # noqa: RUF012 (read only)

        def of(self, dependency: object) -> bytes:
            return b"f" * 16

        def whole(self, what: object) -> bytes:
            return b"w" * 16

    memory = RenderMemory()
    for number in range(8):  # read by the page (0) and by the page list only (1-7)
        memory.ledger.number(("resolver", f"d{number}"))
    memory.ledger.previous = Previous()
    memory.records["a.html"] = PageRecord(None, b"s" * 16, array("I", [0]), b"d" * 16)
    spec = PageSpec("a.html", "post.html", context=(("ratio", 0.5),))  # a float: a context with no row
    memory.keep_specs([spec], array("I", range(1, 8)))
    memory.unread_at_most = 8  # a quarter of the numbers may be unread: the dump renumbers
    loaded = RenderMemory.load(memory.dump())
    assert loaded is not None and set(loaded.records) == {"a.html"}


# What the model's methods and properties read besides their object's fields: each a constant, a class or a helper
# of model.py, or a name used only in annotations. ledger.changes takes a series (a tag, the site) whose named
# objects all kept their whole fingerprints as unchanged, properties and all: right only while nothing a method
# reads can change from one build to the next but fields (a module constant changes with the code, which salts
# the render memory). A method that reads "now", the settings or any other state would give stale pages silently.
_MODEL_READS_BESIDES_FIELDS = {
    "ChapterNumber": {"ChapterNumber", "_CHAPTER", "cached_property"},
    "Extra": {"Extra", "Iterator", "Mapping", "_frozen", "pair"},
    "Post": {"DISPLAY_EQUATION_SECONDS", "WORDS_PER_MINUTE", "cached_property"},
    "Books": {"BOOK_FORMS", "Books"},
    "Series": {"cached_property"},
    "Site": {"BOOK_FORMS", "Series"},
}


def test_the_model_s_methods_read_nothing_but_fields_and_constants() -> None:
    import ast
    import builtins

    from primer_site import model

    tree = ast.parse(Path(model.__file__).read_text(encoding="utf-8"))
    reads: dict[str, set[str]] = {}
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        for function in (node for node in cls.body if isinstance(node, ast.FunctionDef)):
            arguments = function.args.posonlyargs + function.args.args + function.args.kwonlyargs
            bound = {argument.arg for argument in arguments}
            bound |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            for node in ast.walk(function):
                loaded = isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                if loaded and node.id not in bound and not hasattr(builtins, node.id):
                    reads.setdefault(cls.name, set()).add(node.id)
    assert reads == _MODEL_READS_BESIDES_FIELDS, (
        "a method of the model reads a new name besides its fields: if it can differ between two builds whose "
        "objects' fields are equal (the clock, the settings, a cache), ledger._names_only_the_same must not skip "
        "its object; else add it to _MODEL_READS_BESIDES_FIELDS"
    )
