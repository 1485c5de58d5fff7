"""YAML text → a mapping plus the source line of each top-level key, with located errors.

Values a caller declares as text (its `TextShape`) are read as the author wrote them (yamltext.py); an error's
message offers a fix (yamlhints.py). An alias may not expand the document past MAX_ALIAS_EXPANSION values.
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from typing import Any

import yaml

from primer_site.errors import SiteError
from primer_site.lazyregex import lazy_compile
from primer_site.sources.yamlhints import KEEP_BACKSLASHES, refused_escape, syntax_hint
from primer_site.sources.yamltext import TextReader, TextShape, line_and_column

# The C loader is ~7x faster on front matter; fall back where libyaml is missing.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, except that a scalar its type cannot hold (2026-02-30, a 5,000-digit number, `!!bool maybe`)
    stays text, for the key's own check to report at its line, instead of raising ValueError from deep in PyYAML."""


def _text_if_invalid(construct: Any) -> Any:
    def constructor(loader: Any, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            return loader.construct_scalar(node)

    return constructor


for _tag in ("bool", "int", "float", "timestamp"):
    _full_tag = f"tag:yaml.org,2002:{_tag}"
    _Loader.add_constructor(_full_tag, _text_if_invalid(_SafeLoader.yaml_constructors[_full_tag]))

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60


def describe(value: object) -> str:
    """A YAML value for a message: repr, cut short however big, deep or self-referencing (`&a [*a]`) it is.

    Text is shown as written, in single quotes, where repr would only double its backslashes ('\\E', not
    '\\\\E'); no value at all (an empty `key:`) is "an empty value", not Python's None."""
    if value is None:
        return "an empty value"
    if isinstance(value, str) and value.isprintable() and "'" not in value:
        text = f"'{value}'"
        return text if len(text) <= 60 else text[:57] + "…"
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


_TOP_LEVEL_KEY = lazy_compile(r"^([^\s#'\"\[{?:-][^:\n]*):(?=[ \t]|$)", re.MULTILINE)


@dataclass(frozen=True)
class YamlMapping:
    """A YAML mapping read from a file, with the line each top-level key is on."""

    data: dict[str, Any]
    key_lines: dict[str, int]  # key → 1-based line in the file
    first_line: int

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.first_line)


def load_yaml_mapping(
    text: str, path: str, first_line: int = 1, text_shape: dict[str, TextShape] | None = None
) -> YamlMapping:
    """Parse `text`, which starts at `first_line` of `path`, as a YAML mapping (empty → {}).

    The top-level keys, and the values `text_shape` names, are read as text as written (see the module's
    docstring). Raises SiteError: a YAML syntax error at its line, or every refused escape or comment of the
    values read as text, each at its line and column.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlMapping({}, {}, first_line)
        if not isinstance(node, yaml.MappingNode):
            raise SiteError(
                "front matter must be a mapping of keys to values",
                path,
                first_line + node.start_mark.line,
            )
        reader = TextReader(text, path, first_line)
        reader.mapping(node, text_shape or {}, "")
        reader.refuse_types(node, "")
        if reader.problems:
            raise SiteError(diagnostics=reader.problems)
        _refuse_alias_bombs(node, text, path, first_line)
        key_lines: dict[str, int] = {}
        duplicates: list[tuple[str, int]] = []
        for key_node, _ in node.value:
            # a collection as a key is refused when constructed; its str() could be exponential (aliases)
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else f"<{key_node.id}>"
            line = first_line + key_node.start_mark.line
            if key in key_lines:
                duplicates.append((key, line))
            key_lines[key] = line
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        if refused := refused_escape(text, exc):
            index, escape, word = refused
            line, column = line_and_column(text, index, first_line)
            named = f'"{escape}"' if word == escape else f'"{escape}" (of "{word}")'
            key = _TOP_LEVEL_KEY.findall(text, 0, index)  # the value is not composed yet: name its key by its line
            message = f"in double quotes YAML reads a backslash as an escape, and {named} is none: {KEEP_BACKSLASHES}"
            raise SiteError(f"{key[-1]}: {message}" if key else message, path, line, column) from None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context} started on line {first_line + exc.context_mark.line})"
        raise SiteError(f"YAML syntax: {problem}{syntax_hint(text, exc)}", path, line) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        raise SiteError(f"YAML: {exc}".splitlines()[0], path, first_line) from None
    except RecursionError:
        raise SiteError("YAML: nested too deeply", path, first_line) from None
    finally:
        loader.dispose()
    if duplicates:
        key, line = duplicates[0]
        raise SiteError(f"{key}: key given twice", path, line)
    if not all(isinstance(k, str) for k in data):
        bad = next(k for k in data if not isinstance(k, str))
        raise SiteError(f"{describe(bad)}: keys must be text", path, first_line)
    return YamlMapping(data, key_lines, first_line)


# Aliases may repeat a value (`&defaults` … `*defaults`), but a document may hold at most this many values more,
# once every alias is expanded, than it spells out: 390 bytes of nested aliases ("billion laughs") expand to
# 387 million values, in every consumer that walks the data as a tree (the caches' JSON, templates, messages).
MAX_ALIAS_EXPANSION = 100_000


def _refuse_alias_bombs(root: yaml.Node, text: str, path: str, first_line: int) -> None:
    """Raise SiteError when the document under `root`, its aliases expanded, holds more than MAX_ALIAS_EXPANSION
    values beyond those written, at the innermost value that does; or when a value holds itself (`&a [*a]`).
    Each node is counted once (its expanded size is kept by node): linear in the number of nodes written."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    children: dict[int, list[yaml.Node]] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in visiting:
            line, column = line_and_column(text, node.start_mark.index, first_line)
            raise SiteError(
                "YAML: this value holds itself (an alias inside its own anchor's value)", path, line, column
            )
        visiting.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            inner = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            inner = [part for pair in node.value for part in pair]
        else:
            inner = []
        children[id(node)] = inner
        total = 1
        for child in inner:
            total += size(child)
        visiting.discard(id(node))
        sizes[id(node)] = total
        return total

    expanded = size(root)
    if expanded - len(sizes) <= MAX_ALIAS_EXPANSION:
        return
    node = root  # the innermost value that alone is over the bound: where the bomb is
    while (bigger := [c for c in children[id(node)] if sizes[id(c)] > MAX_ALIAS_EXPANSION]) != []:
        node = max(bigger, key=lambda c: sizes[id(c)])
    line, column = line_and_column(text, node.start_mark.index, first_line)
    raise SiteError(
        f"YAML: this value holds {sizes[id(node)]:,} values once its aliases (*name) are expanded, more than the "
        f"{MAX_ALIAS_EXPANSION:,} aliases may add: write the values out, or nest fewer aliases",
        path,
        line,
        column,
    )
