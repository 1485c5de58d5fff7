"""The package's shape: every module belongs to a stage, lives in that stage's folder, and imports only its own
stage and the stages before it, with no cycle."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "primer_site"

# The pipeline's stages, first to last. "base" is src/primer_site/ itself; every other stage is a folder there.
STAGES = ["base", "sources", "syntax", "caches", "math", "site", "rendering", "publish", "preview", "commands"]

# Which stage each module belongs to. A module may import modules of its own stage and of the stages before it.
STAGE_OF = {
    **dict.fromkeys(["keptcode", "dataclasscode", "regexcode", "lazyregex", "errors", "layout", "model", "frozen", "urls", "store", "salts", "diskstore", "diskrecords", "workers"], "base"),
    **dict.fromkeys(
        ["yamlhints", "yamltext", "yamldoc", "theoremkinds", "sharedkeys", "urlsettings", "config", "dates", "discover", "notation", "frontmatter", "parse", "seriesfile", "bibliography", "imagesize",
         "activecontent"],
        "sources",
    ),
    **dict.fromkeys(
        ["mathscan", "mathsyntax", "mathtables", "figures", "headings", "theorems", "citations", "rawhtml", "lexers", "markdown_parser",
         "katexnumbering", "references", "bodylinks", "markdown", "inline"],
        "syntax",
    ),
    **dict.fromkeys(["fingerprints", "dependencies", "ledger", "documentcache", "documentrows", "reading", "bodycache", "highlights", "bodies"], "caches"),
    **dict.fromkeys(["katexsetup", "katexworker", "mathmlsanitizer", "katex", "htmltokenizer", "mathhtml", "mathsources", "mathcheck", "typeset"], "math"),
    **dict.fromkeys(
        ["i18n", "entryformat", "citeformat", "citethis", "citing", "previews", "assetpaths", "assetimages", "assets", "outputpaths", "bodylanguage", "postreads", "assemblememo", "postlinks", "series", "taxonomies",
         "assemblyparts", "reassemble", "assemble"],
        "site",
    ),
    **dict.fromkeys(
        ["feeds", "mathpass", "book", "xhtml", "epubpackage", "epub", "pages", "templates", "assetnames", "theme",
         "storedspecs", "pagerecords", "rendermemory", "pagerenderer", "render"],
        "rendering",
    ),
    **dict.fromkeys(["output", "manifest", "swap", "staging", "inplace", "write", "search", "buildrecord", "pdfpage", "pdfserver", "chromium", "pdf"], "publish"),
    **dict.fromkeys(["livereload", "sitehandler", "server", "watch"], "preview"),
    **dict.fromkeys(["sitemath", "themefiles", "buildoptions", "lastbuild", "processmemory", "build", "check", "serve", "scaffold", "sitefolder", "arguments", "cli"], "commands"),
}  # fmt: skip


def module_paths() -> dict[str, Path]:
    """Every module of the package by its name (names are unique: see the test below), entry points aside."""
    return {path.stem: path for path in sorted(PACKAGE.rglob("*.py")) if path.stem not in ("__init__", "__main__")}


def dotted(path: Path) -> str:
    """src/primer_site/sources/parse.py → "primer_site.sources.parse"."""
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def imports_in(path: Path, modules: dict[str, str]) -> list[tuple[str, int]]:
    """The package's modules a file imports (module name, line), at its top or inside a function;
    `modules` maps each module's dotted path to its name."""
    package = dotted(path).split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from primer_site.sources import parse` names a module; `from primer_site.sources.parse import x` too
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
            found += [(modules[name], node.lineno) for name in candidates if name in modules]
        elif isinstance(node, ast.Import):
            found += [(modules[alias.name], node.lineno) for alias in node.names if alias.name in modules]
    return found


@lru_cache(maxsize=1)
def import_graph() -> dict[str, list[tuple[str, int]]]:
    """Module → the modules it imports, each with the line of the import."""
    paths = module_paths()
    by_dotted = {dotted(path): name for name, path in paths.items()}
    return {
        name: [(to, line) for to, line in imports_in(path, by_dotted) if to != name] for name, path in paths.items()
    }


def imports_of(module: str) -> set[str]:
    return {to for to, _ in import_graph()[module]}


def stage_violations(graph: dict[str, list[tuple[str, int]]], stage_of: dict[str, str]) -> list[str]:
    """Each import of a module from a later stage, said as the rule it breaks."""
    order = {stage: index for index, stage in enumerate(STAGES)}
    wrong = []
    for module, imported in sorted(graph.items()):
        for to, line in imported:
            if module in stage_of and to in stage_of and order[stage_of[to]] > order[stage_of[module]]:
                wrong.append(
                    f"{module} (stage {stage_of[module]}) imports {to} (stage {stage_of[to]}) at line {line}: "
                    f"a stage imports only itself and the stages before it ({' → '.join(STAGES)})"
                )
    return wrong


def import_cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """The cycles of the graph, one path each (depth-first search, linear in modules + imports)."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for to, _ in graph.get(module, []):
            if state.get(to) == "open":
                cycles.append([*path[path.index(to) :], to])
            elif to not in state:
                visit(to)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return cycles


def test_module_names_are_unique() -> None:
    """A module keeps its name in any folder, so that a name says one module (and the stages read as a list)."""
    names = [path.stem for path in PACKAGE.rglob("*.py") if path.stem not in ("__init__", "__main__")]
    assert sorted(names) == sorted(set(names)), sorted({name for name in names if names.count(name) > 1})


def test_every_module_has_a_stage() -> None:
    modules = set(module_paths())
    assert not modules - set(STAGE_OF), (
        f"modules with no stage (add them to STAGE_OF): {sorted(modules - set(STAGE_OF))}"
    )
    assert not set(STAGE_OF) - modules, f"STAGE_OF names modules that do not exist: {sorted(set(STAGE_OF) - modules)}"
    assert set(STAGE_OF.values()) <= set(STAGES)


def test_every_module_lives_in_its_stage_folder() -> None:
    for module, path in module_paths().items():
        folder = "base" if path.parent == PACKAGE else path.parent.relative_to(PACKAGE).as_posix()
        assert folder == STAGE_OF.get(module, folder), (
            f"{dotted(path)} is in stage {STAGE_OF[module]!r}: move it, or its entry"
        )


def test_every_stage_folder_says_what_it_is() -> None:
    for stage in STAGES[1:]:
        init = PACKAGE / stage / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no docstring"


def test_imports_go_to_the_same_or_an_earlier_stage() -> None:
    wrong = stage_violations(import_graph(), STAGE_OF)
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_itself_back() -> None:
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in cycles)


def test_the_checks_catch_a_wrong_import_and_a_cycle() -> None:
    """The rules above on a graph that breaks them: a sources module importing the CLI, and a loop in a stage."""
    graph = {**import_graph()}
    graph["parse"] = [*graph["parse"], ("cli", 7)]
    assert stage_violations(graph, STAGE_OF) == [
        "parse (stage sources) imports cli (stage commands) at line 7: a stage imports only itself and the stages"
        " before it (" + " → ".join(STAGES) + ")"
    ]
    graph = {"a": [("b", 1)], "b": [("c", 2)], "c": [("a", 3)], "d": [("a", 4)]}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]


def test_the_site_s_folder_names_have_one_home() -> None:
    """layout.py names the site's folders and files and imports nothing; no other module spells one, and the
    modules that need only names (the watcher, `clean`) import no stage that renders."""
    from primer_site import layout

    assert imports_of("layout") == set()
    names = {value for key, value in vars(layout).items() if key.isupper() and isinstance(value, str)}
    for module, path in module_paths().items():
        if module == "layout":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in names:
                raise AssertionError(f"{dotted(path)}:{node.lineno} spells {node.value.value!r}: import it from layout")
    for module in ("watch", "sitefolder"):
        assert not imports_of(module) & {"theme", "render", "feeds", "katex"}, module


def test_the_store_imports_no_stage() -> None:
    """Stamps, "same inputs, same object", the last build's record and the tables on disk: the stages say what they
    keep, the store knows none of them."""
    assert imports_of("store") <= {"errors", "layout"}
    assert imports_of("salts") <= {"errors", "layout", "store", "keptcode"}  # keptcode: where the code's digest is kept
    assert imports_of("diskstore") <= {"errors", "layout", "store", "salts"}
    assert imports_of("diskrecords") <= {"errors", "layout", "store", "salts"}


def test_the_server_knows_nothing_of_the_build() -> None:
    """It is given a folder and told how rebuilds went; serve.py wires it to the build."""
    assert imports_of("server") <= {"errors", "livereload", "sitehandler"}
    assert imports_of("sitehandler") <= {"errors", "livereload"}
    assert imports_of("livereload") <= {"errors"}


# The Markdown stage: the only modules that may import markdown-it (the body cache hashes exactly these).
MARKDOWN_MODULES = {module for module, stage in STAGE_OF.items() if stage == "syntax"}


def test_only_the_markdown_modules_import_markdown_it() -> None:
    for module, path in module_paths().items():
        if module not in MARKDOWN_MODULES:
            assert "markdown_it" not in path.read_text(encoding="utf-8"), f"{dotted(path)} imports markdown-it"


def test_the_body_cache_covers_every_markdown_module() -> None:
    """A change to any of them changes the HTML, so it must empty the body cache (bodycache.cache_salt)."""
    from primer_site.syntax.markdown import RENDERER_SOURCES

    assert {path.stem for path in RENDERER_SOURCES} == MARKDOWN_MODULES


def test_the_readme_lists_every_module_by_stage() -> None:
    """The README's Design section lists each module under its stage, stages in order: the map stays true."""
    readme = (PACKAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Design\n", 1)[1].split("\n```\n", 2)[1]
    listed: dict[str, str] = {}
    stages = []
    for line in section.splitlines():
        if line and not line.startswith(" "):
            stages.append(line.split()[0].rstrip("/"))
        elif line.strip():
            listed[line.split()[0]] = stages[-1]
    assert stages == STAGES
    assert listed == STAGE_OF
