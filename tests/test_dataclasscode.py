"""The methods `@dataclass` writes for the package's classes: compiled once, kept beside the package's bytecode, and
the very code a fresh compile gives (dataclasscode.py). Each test runs new processes with their own bytecode folder
(PYTHONPYCACHEPREFIX), as a `primer-site build` starts."""

from __future__ import annotations

from pathlib import Path

from fixture_sites import damaged_tables, new_process_json

# Every method the dataclasses module wrote for a class of the package, by class and name, as its code's parts and
# the function's annotations and defaults; argv[1] "stock": the imports without the kept table (what Python makes).
SCRIPT = """
import collections, contextlib, dataclasses, hashlib, json, marshal, re, sys
from primer_site import dataclasscode

stock = sys.argv[1] == "stock"
with dataclasscode.kept_methods() if not stock else contextlib.nullcontext() as table:
    import primer_site.commands.cli  # what every build imports first

    @dataclasses.dataclass(frozen=True)
    class Outside:  # a class outside the package, made while the table serves (as markdown-it's are)
        x: int

    import typing
    forward = typing.Optional["Outside"].__args__[0]  # an annotation written as text, as Jinja's are

methods = {}
tuples = {}  # the __new__ of every named tuple, the package's and others' (namedtuple writes it as a lambda's text)
for name, module in sorted(sys.modules.items()):
    for cls in list(vars(module).values()) if module is not None else ():
        if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields") and cls.__module__ == name:
            code = cls.__new__.__code__
            parts = (code.co_code, repr(code.co_consts), code.co_names, code.co_varnames, code.co_filename,
                     code.co_flags, repr(cls.__new__.__defaults__), cls.__new__.__globals__["__name__"])
            tuples[f"{name}.{cls.__qualname__}"] = hashlib.sha256(repr(parts).encode()).hexdigest()
    if not name.startswith(("primer_site", "markdown_it", "__main__")):
        continue
    for cls in list(vars(module).values()):
        if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == name:
            for method, function in sorted(vars(cls).items()):
                code = getattr(function, "__code__", None)
                if code is not None and code.co_filename == "<string>":
                    parts = (code.co_code, repr(code.co_consts), code.co_names, code.co_varnames, code.co_freevars,
                             code.co_flags, repr(function.__annotations__), repr(function.__defaults__),
                             repr(function.__kwdefaults__))
                    text = re.sub(" at 0x[0-9a-f]+", "", repr(parts))  # a default's address differs per process
                    methods[f"{name}.{cls.__qualname__}.{method}"] = hashlib.sha256(text.encode()).hexdigest()
print(json.dumps({
    "compiled": None if stock else table.compiled,
    "used": None if stock else len(table.used),
    "path": dataclasscode.table_path(),
    "methods": methods,
    "tuples": tuples,
    "tuples_kept": None if stock else sum(text.startswith("\\x00eval") for text in table.used),
    "outside": Outside(1) == Outside(1) and repr(Outside(2)) == "Outside(x=2)",
    "outside_annotations": repr(Outside.__init__.__annotations__),
    # its __init__ is the very code object the table served (a fresh compile makes another, equal one): the module's
    # code holds __create_fn__'s, which holds the method's
    "outside_kept": False if stock else any(
        method is Outside.__init__.__code__
        for code in table.used.values()
        for maker in code.co_consts if hasattr(maker, "co_consts")
        for method in maker.co_consts
    ),
    "exec_restored": "exec" not in vars(dataclasses) and "eval" not in vars(collections)
    and "compile" not in vars(typing),
    "forward_kept": False if stock else any(code is forward.__forward_code__ for code in table.used.values()),
    "forward_same": forward.__forward_code__ == compile("Outside", "<string>", "eval")
    and eval(forward.__forward_code__, {"Outside": Outside}) is Outside,
}))
"""


def run(prefix: Path, write: bool = True, stock: bool = False) -> dict:
    """What a new process that imports the CLI finds, with its bytecode (and the table) under `prefix`; `stock`:
    without the kept table."""
    return new_process_json(SCRIPT, prefix, "stock" if stock else "kept", write=write)


def test_a_second_process_compiles_no_method_and_gets_the_same_code(tmp_path: Path) -> None:
    first = run(tmp_path / "cache")
    assert first["compiled"] == first["used"] > 300  # ~6 methods for each of the ~70 classes a build starts with
    assert Path(first["path"]).is_file()
    second = run(tmp_path / "cache")
    assert second["compiled"] == 0
    assert second["used"] == first["used"]
    assert second["methods"] == first["methods"]
    assert len(second["methods"]) > 300
    # and the very methods Python makes without the table: code, flags, annotations, defaults
    stock = run(tmp_path / "stock", stock=True)
    assert second["methods"] == stock["methods"]
    # named tuples' __new__ too, served from the table whoever made them (the package, the standard library, Jinja)
    assert second["tuples_kept"] > 15  # those made after the dataclasses module is loaded (inspect, dis: before)
    assert len(second["tuples"]) > 20
    assert second["tuples"] == first["tuples"] == stock["tuples"]
    assert second["exec_restored"] is True  # the dataclasses module's own exec is back after the imports


def test_classes_outside_the_package_are_served_the_code_python_makes(tmp_path: Path) -> None:
    """markdown-it's classes, made while the CLI loads, compiled their methods in every process before."""
    first = run(tmp_path / "cache")
    assert first["outside_kept"] is True
    second = run(tmp_path / "cache")
    assert second["compiled"] == 0
    assert second["outside"] is True
    # exec of a text in dataclasscode took its `from __future__ import annotations`: {'x': '_type_x', ...}
    assert second["outside_annotations"] == "{'x': <class 'int'>, 'return': None}"
    stock = run(tmp_path / "stock", stock=True)
    outside = {name: digest for name, digest in second["methods"].items() if name.startswith("__main__.Outside.")}
    assert len(outside) >= 4  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    assert {name: stock["methods"][name] for name in outside} == outside
    tokens = [name for name in second["methods"] if name.startswith("markdown_it.token.Token.")]
    assert tokens and all(second["methods"][name] == stock["methods"][name] for name in tokens)


def test_an_annotation_written_as_text_is_served_the_code_python_compiles(tmp_path: Path) -> None:
    """typing.ForwardRef compiled each such annotation (~125 in Jinja's modules) in every process before."""
    first = run(tmp_path / "cache")
    assert first["forward_kept"] is True
    second = run(tmp_path / "cache")
    assert second["compiled"] == 0
    assert second["forward_kept"] is True
    assert second["forward_same"] is True  # the code a fresh compile gives, and it finds the class
    assert second["exec_restored"] is True


def test_a_damaged_or_foreign_table_is_ignored_and_written_again(tmp_path: Path) -> None:
    prefix = tmp_path / "cache"
    first = run(prefix)
    table = Path(first["path"])
    good = table.read_bytes()
    for bad in damaged_tables(good, b"dataclass code\n"):
        table.write_bytes(bad)
        again = run(prefix)
        assert again["compiled"] == first["used"], "a bad table must not be trusted"
        assert again["methods"] == first["methods"]
        assert table.read_bytes() == good  # written again whole
        assert run(prefix)["compiled"] == 0


def test_nothing_is_written_under_pythondontwritebytecode(tmp_path: Path) -> None:
    prefix = tmp_path / "cache"
    found = run(prefix, write=False)
    assert found["compiled"] > 300
    assert not Path(found["path"]).exists()
    assert run(prefix, write=False)["compiled"] == found["compiled"]


def test_the_table_s_calls_do_what_the_builtins_do_with_any_arguments() -> None:
    """What the kept table stands in for (exec, eval, compile) behaves as the builtin whatever it is asked: the
    caller's namespaces when none is given (never the table's module, whose `from __future__ import annotations`
    would make annotations strings), and compile's other arguments honoured, not refused."""
    from primer_site.dataclasscode import _Table

    table = _Table(None)
    text = "def f(a: int): pass\nwho = __name__"
    for future, annotation in (("from __future__ import annotations\n", "int"), ("", int)):
        # called from a module with or without `from __future__ import annotations` (this one has it)
        caller = compile(future + "exec(text, None, made)", "<caller>", "exec", dont_inherit=True)
        for name, function in (("table", table.exec), ("builtin", exec)):
            made: dict = {}
            exec(caller, {"__name__": "caller", "exec": function, "text": text, "made": made})
            assert made["f"].__annotations__ == {"a": annotation}, (name, future)
            assert made["who"] == "caller", name
    local = 41  # noqa: F841 (read by the text eval'd below, from this frame)
    assert table.eval("local + 1") == 42
    optimised = table.compile("__debug__", "<string>", "eval", optimize=2)
    assert eval(optimised) is eval(compile("__debug__", "<string>", "eval", optimize=2)) is False
