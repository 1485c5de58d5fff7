"""YAML text → a mapping plus the source line of each top-level key, with located errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from .errors import SiteError

# The C loader is ~7x faster on front matter; fall back where libyaml is missing.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlMapping:
    data: dict[str, Any]
    key_lines: dict[str, int]  # key → 1-based line in the file
    first_line: int

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.first_line)


def load_yaml_mapping(text: str, path: str, first_line: int = 1) -> YamlMapping:
    """Parse `text`, which starts at `first_line` of `path`, as a YAML mapping (empty → {})."""
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
        key_lines: dict[str, int] = {}
        duplicates: list[tuple[str, int]] = []
        for key_node, _ in node.value:
            key = str(key_node.value)
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
        raise SiteError(f"{bad!r}: keys must be text", path, first_line)
    return YamlMapping(data, key_lines, first_line)
