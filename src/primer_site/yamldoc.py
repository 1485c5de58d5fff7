"""YAML text → a mapping plus the source line of each top-level key, with located errors.

Values a caller declares as text (its `TextShape`) are read as the author wrote them: YAML 1.1's implicit types
are not applied to them (`1.10` stays "1.10", `010` stays "010", `yes` stays "yes").
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import SiteError

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
    """A YAML value for a message: repr, cut short however big, deep or self-referencing (`&a [*a]`) it is."""
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


TEXT = "text"  # a scalar that is text: as written
# Where a document holds text: TEXT for a scalar; [shape] for each item of a sequence (or a lone
# scalar); {key: shape} for a mapping, "*" standing for any other key. A mapping's keys are always read as text.
TextShape = str | list["TextShape"] | dict[str, "TextShape"]

_YAML = "tag:yaml.org,2002:"
_STR, _MERGE = _YAML + "str", _YAML + "merge"
# The types YAML 1.1 gives a plain scalar by its look (the YAML 1.1 type repository); null is left alone: an empty
# value, ~ and null mean "no value" in every YAML version.
_RETYPED = frozenset(_YAML + name for name in ("bool", "int", "float", "timestamp", "value", "merge"))


@dataclass(frozen=True)
class YamlMapping:
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
    docstring). Raises SiteError: a YAML syntax error at its line.
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
        _TextReader().mapping(node, text_shape or {})
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
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context} started on line {first_line + exc.context_mark.line})"
        raise SiteError(f"YAML syntax: {problem}", path, line) from None
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


class _TextReader:
    """Walks the composed nodes a shape names and retags their scalars as text."""

    def __init__(self) -> None:
        self.seen: set[int] = set()  # an aliased node is read once (and an alias bomb is never unfolded)

    def walk(self, node: yaml.Node, shape: TextShape) -> None:
        if isinstance(node, yaml.ScalarNode):
            if shape == TEXT or isinstance(shape, list):
                self.scalar(node, is_key=False)
        elif id(node) in self.seen:
            return
        elif isinstance(node, yaml.SequenceNode) and isinstance(shape, list):
            self.seen.add(id(node))
            for item in node.value:
                self.walk(item, shape[0])
        elif isinstance(node, yaml.MappingNode) and isinstance(shape, dict):
            self.mapping(node, shape)

    def mapping(self, node: yaml.MappingNode, shape: dict[str, TextShape]) -> None:
        self.seen.add(id(node))
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # refused when constructed
            if key_node.tag == _MERGE:  # `<<: *defaults`: the merged mappings' values are this mapping's
                for part in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    self.walk(part, shape)
                continue
            self.scalar(key_node, is_key=True)
            value_shape = shape.get(key_node.value, shape.get("*"))
            if value_shape is not None:
                self.walk(value_node, value_shape)

    def scalar(self, node: yaml.ScalarNode, is_key: bool) -> None:
        if id(node) in self.seen:
            return
        self.seen.add(id(node))
        if node.tag in _RETYPED and not (is_key and node.tag == _MERGE):
            node.tag = _STR
