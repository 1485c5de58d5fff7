"""The pipeline's import direction: each stage imports only the stages before it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "primer_site"

# Lowest first. A module may import only modules listed before it.
LAYERS = [
    "errors", "layout", "store", "workers", "model", "yamldoc", "theoremkinds", "config", "urls", "discover", "dates", "notation", "parse", "bibliography", "imagesize", "dependencies", "i18n", "mathhtml",
    "mathsyntax", "mathtables", "figures", "theorems", "citations", "rawhtml", "headings", "markdown_parser", "references", "markdown", "entryformat", "citeformat", "citethis", "cache", "bodies",
    "inputs", "documentcache", "katex",
    "activecontent", "assets", "outputpaths", "mathcheck", "citing", "previews", "assemblememo", "postlinks", "series", "taxonomies", "assemble", "feeds", "mathpass", "typeset", "book", "theme", "pages", "render", "output",
    "staging", "write", "lastbuild", "search", "livereload", "server", "sitefolder", "reading", "build", "check", "watch",
    "serve", "scaffold", "cli",
]  # fmt: skip


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:  # "from . import x": x is a module, or a name from __init__
                found.update(alias.name for alias in node.names if (PACKAGE / f"{alias.name}.py").exists())
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("primer_site."):
            found.add(node.module.split(".")[1])
    return found - {"__init__"}


def test_every_module_has_a_layer() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(LAYERS)


def test_imports_point_down_the_pipeline() -> None:
    for index, module in enumerate(LAYERS):
        allowed = set(LAYERS[:index])
        wrong = imports_of(module) - allowed
        assert not wrong, f"{module} imports {sorted(wrong)}, which come after it in the pipeline"


def test_the_site_s_folder_names_have_one_home() -> None:
    """layout.py names the site's folders and files and imports nothing; no other module spells one, and the
    modules that need only names (the watcher, `clean`) import no stage that renders."""
    from primer_site import layout

    assert imports_of("layout") == set()
    names = {value for key, value in vars(layout).items() if key.isupper() and isinstance(value, str)}
    for path in PACKAGE.glob("*.py"):
        if path.stem == "layout":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in names:
                raise AssertionError(f"{path.name}:{node.lineno} spells {node.value.value!r}: import it from layout")
    for module in ("watch", "sitefolder"):
        assert not imports_of(module) & {"theme", "render", "feeds", "katex"}, module


def test_the_server_knows_nothing_of_the_build() -> None:
    """It is given a folder and told how rebuilds went; serve.py wires it to the build."""
    assert imports_of("server") <= {"errors", "livereload"}
    assert imports_of("livereload") <= {"errors"}


# The Markdown stage: the only modules that may import markdown-it (the body cache hashes exactly these).
MARKDOWN_MODULES = {
    "mathsyntax",
    "mathtables",
    "figures",
    "theorems",
    "citations",
    "rawhtml",
    "headings",
    "markdown_parser",
    "references",
    "markdown",
}


def test_only_the_markdown_modules_import_markdown_it() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.stem not in MARKDOWN_MODULES:
            assert "markdown_it" not in path.read_text(), f"{path.name} imports markdown-it"


def test_the_body_cache_covers_every_markdown_module() -> None:
    """A change to any of them changes the HTML, so it must empty the body cache (cache.cache_salt)."""
    from primer_site.syntax.markdown import RENDERER_SOURCES

    assert {path.stem for path in RENDERER_SOURCES} == MARKDOWN_MODULES
