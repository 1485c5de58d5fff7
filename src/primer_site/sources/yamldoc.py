"""YAML text → a mapping plus the source line of each top-level key, with located errors.

Values a caller declares as text (its `TextShape`) are read as the author wrote them: YAML 1.1's implicit types
are not applied to them (`1.10` stays "1.10", `010` stays "010", `yes` stays "yes"), and a double-quoted one whose
escapes would change its TeX (`"$\\times$"` holds a TAB in YAML) is refused at the escape, never changed.
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from typing import Any

import yaml

from primer_site.errors import Diagnostic, SiteError

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


TEXT = "text"  # a scalar that is text, maybe TeX: as written, and refused if its escapes would change it
STRING = "string"  # a scalar its key parses itself (a date): as written, escapes as YAML reads them
# Where a document holds text: TEXT or STRING for a scalar; [shape] for each item of a sequence (or a lone
# scalar); {key: shape} for a mapping, "*" standing for any other key. A mapping's keys are always read as text.
TextShape = str | list["TextShape"] | dict[str, "TextShape"]

_YAML = "tag:yaml.org,2002:"
_STR, _MERGE = _YAML + "str", _YAML + "merge"
# The types YAML 1.1 gives a plain scalar by its look (the YAML 1.1 type repository); null is left alone: an empty
# value, ~ and null mean "no value" in every YAML version.
_RETYPED = frozenset(_YAML + name for name in ("bool", "int", "float", "timestamp", "value", "merge"))

# The types a value may have: JSON's (text, numbers, true/false, null, lists, mappings) and YAML's dates. The
# others YAML 1.1 builds (!!binary → bytes, !!set, !!omap, !!pairs) no page, feed or cache can hold as written.
_PLAIN_TYPES = frozenset(_YAML + name for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"))
PLAIN_TYPES_SAID = "text, numbers, true or false, null, dates and datetimes, lists and mappings"

# Double-quoted escapes kept: \\ and \" ask for a backslash or a quote; \xXX, \uXXXX, \UXXXXXXXX spell a code
# point (every TeX command starting \x, \u or \U, such as \xi or \underline, fails YAML's hex digits instead).
_KEPT_ESCAPES = frozenset('\\"xuU')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_TEX_WORD = re.compile(r"\\(?:[A-Za-z]+|.)", re.DOTALL)
# What YAML 1.2 (§5.7) makes of each escape the loader refuses.
_ESCAPE_MEANING = {
    "0": "a NUL character", "a": "a bell character (BEL)", "b": "a backspace", "t": "a TAB", "\t": "a TAB",
    "n": "a line break", "v": "a vertical tab", "f": "a form feed", "r": "a carriage return",
    "e": "an escape character (ESC)", " ": "a space", "/": "a slash", "N": "a next-line character (U+0085)",
    "_": "a no-break space (U+00A0)", "L": "a line separator (U+2028)", "P": "a paragraph separator (U+2029)",
}  # fmt: skip
_KEEP_BACKSLASHES = "write the value in single quotes or as a block scalar (|), which keep every backslash"
# A space and "#" start a comment after a plain scalar. A "#" glued to what follows (a TeX parameter #1, an issue
# #12, a hashtag #importance) is meant as text: a comment is written "# like this", after a space.
_GLUED_COMMENT = re.compile(r"[ \t]+(#[^ \t\n]+)")
_TOP_LEVEL_KEY = re.compile(r"^([^\s#'\"\[{?:-][^:\n]*):(?=[ \t]|$)", re.MULTILINE)


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
        reader = _TextReader(text, path, first_line)
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
        if refused := _refused_escape(text, exc):
            index, escape, word = refused
            line, column = _line_and_column(text, index, first_line)
            named = f'"{escape}"' if word == escape else f'"{escape}" (of "{word}")'
            key = _TOP_LEVEL_KEY.findall(text, 0, index)  # the value is not composed yet: name its key by its line
            message = f"in double quotes YAML reads a backslash as an escape, and {named} is none: {_KEEP_BACKSLASHES}"
            raise SiteError(f"{key[-1]}: {message}" if key else message, path, line, column) from None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context} started on line {first_line + exc.context_mark.line})"
        raise SiteError(f"YAML syntax: {problem}{_syntax_hint(text, exc)}", path, line) from None
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
            line, column = _line_and_column(text, node.start_mark.index, first_line)
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
    line, column = _line_and_column(text, node.start_mark.index, first_line)
    raise SiteError(
        f"YAML: this value holds {sizes[id(node)]:,} values once its aliases (*name) are expanded, more than the "
        f"{MAX_ALIAS_EXPANSION:,} aliases may add: write the values out, or nest fewer aliases",
        path,
        line,
        column,
    )


class _TextReader:
    """Walks the composed nodes a shape names: retags their scalars as text and finds what YAML would change."""

    def __init__(self, source: str, path: str, first_line: int) -> None:
        self.source = source
        self.path = path
        self.first_line = first_line
        self.problems: list[Diagnostic] = []
        self.seen: set[int] = set()  # an aliased node is reported once (and an alias bomb is never unfolded)
        self.has_comments = "#" in source  # most front matter has none: no need to look after each value

    def walk(self, node: yaml.Node, shape: TextShape, where: str) -> None:
        """Read `node` as `shape` says; `where` names it in messages ("title", "macros: \\E")."""
        if isinstance(node, yaml.ScalarNode):
            if shape == STRING:
                node.tag = _STR if node.tag in _RETYPED else node.tag
            elif shape == TEXT or isinstance(shape, list):
                self.scalar(node, where, is_key=False)
        elif id(node) in self.seen:
            return
        elif isinstance(node, yaml.SequenceNode) and isinstance(shape, list):
            self.seen.add(id(node))
            for item in node.value:
                self.walk(item, shape[0], where)
        elif isinstance(node, yaml.MappingNode) and isinstance(shape, dict):
            self.mapping(node, shape, where)

    def mapping(self, node: yaml.MappingNode, shape: dict[str, TextShape], where: str) -> None:
        self.seen.add(id(node))
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # refused when constructed
            if key_node.tag == _MERGE:  # `<<: *defaults`: the merged mappings' values are this mapping's
                for part in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    self.walk(part, shape, where)
                continue
            if key_node.style or key_node.tag != _STR:  # most keys are plain text: nothing to retag or check
                self.scalar(key_node, where or key_node.value, is_key=True)
            value_shape = shape.get(key_node.value, shape.get("*"))
            if value_shape is not None:
                self.walk(value_node, value_shape, f"{where}: {key_node.value}" if where else key_node.value)

    def scalar(self, node: yaml.ScalarNode, where: str, is_key: bool) -> None:
        if node.tag in _RETYPED and not (is_key and node.tag == _MERGE):
            node.tag = _STR
        style = node.style
        if style == '"' and id(node) not in self.seen:
            self.seen.add(id(node))
            self._refuse_changing_escape(node, where)
        elif (
            not style
            and self.has_comments
            and not is_key
            and id(node) not in self.seen
            and (found := _GLUED_COMMENT.match(self.source, node.end_mark.index))
        ):
            self.seen.add(id(node))
            fix = "put the value in single quotes"
            if node.start_mark.line == node.end_mark.line:  # the line to write: the value and its "comment", quoted
                line_start = self.source.rfind("\n", 0, node.start_mark.index) + 1
                line_end = self.source.find("\n", found.end())
                meant = self.source[node.start_mark.index : line_end if line_end >= 0 else None].rstrip()
                fix += ": " + self.source[line_start : node.start_mark.index].strip() + " " + single_quoted(meant)
            self._report(
                f'{where}: "{found.group(1)}" after a space starts a YAML comment, so the value would end at '
                f'"{node.value}": {fix}',
                found.start(1),
            )

    def refuse_types(self, node: yaml.Node, where: str, seen: set[int] | None = None) -> None:
        """Report every node, key or value, whose type is not in _PLAIN_TYPES: `!!binary`, `!!set`, `!local`..."""
        seen = set() if seen is None else seen
        if id(node) in seen:  # an alias: its node was looked at (and an alias bomb is never unfolded)
            return
        seen.add(id(node))
        if node.tag == _YAML + "value":  # YAML 1.1 reads a plain "=" as its "default value" type: it is the text =
            node.tag = _STR
        if node.tag not in _PLAIN_TYPES:
            tag = "!!" + node.tag.removeprefix(_YAML) if node.tag.startswith(_YAML) else node.tag
            named = f"{where}: " if where else ""
            self._report(
                f"{named}YAML's {tag} is not a type primer-site reads: values are {PLAIN_TYPES_SAID} (remove the tag)",
                node.start_mark.index,
            )
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self.refuse_types(item, where, seen)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else f"<{key_node.id}>"
                if key_node.tag != _MERGE:  # `<<: *defaults` merges its mappings into this one
                    self.refuse_types(key_node, f"{where}: {key}" if where else key, seen)
                self.refuse_types(value_node, f"{where}: {key}" if where else key, seen)

    def _refuse_changing_escape(self, node: yaml.ScalarNode, where: str) -> None:
        start, end = node.start_mark.index, node.end_mark.index
        if self.source.find("\\", start, end) < 0:
            return
        opening = self.source.index('"', start)  # after any tag or anchor
        math = _MathState(self.source, opening + 1)
        for escape in _ESCAPE.finditer(self.source, opening + 1, end - 1):
            char = escape.group(1)
            if char in _KEPT_ESCAPES or (char == " " and self._continues_a_line(escape.start())):
                continue  # "\ " opening a line after a "\" line continuation: the space PyYAML's dumper keeps
            if char == "\n":
                if not math.inside(escape.start()):
                    continue  # "\" at a line's end joins the lines: how YAML (and PyYAML) folds a long value
                # in TeX a backslash before a line break is a control space (a\ b): joined, it would be lost
                read_as, changed = 'a "\\" at the end of a line as joining the lines', "the backslash"
            else:
                word = _TEX_WORD.match(self.source, escape.start())
                read_as = f'"{escape.group()}" as {_ESCAPE_MEANING.get(char, "another character")}'
                changed = f'"{word.group() if word else escape.group()}"'
            self._report(
                f"{where}: in double quotes YAML reads {read_as}, so {changed} would not stay as written: "
                + _KEEP_BACKSLASHES,
                escape.start(),
            )
            return  # one per value: the fix is the same for all

    def _continues_a_line(self, index: int) -> bool:
        """Whether source[index] is the first character of a line, after its indentation, that follows a line ending
        in a "\\" line continuation (YAML 1.2 §7.3.1, escaped line breaks)."""
        before = index
        while before > 0 and self.source[before - 1] in " \t":  # only the indentation: linear over a value
            before -= 1
        return before > 1 and self.source[before - 1] == "\n" and self.source[before - 2] == "\\"

    def _report(self, message: str, index: int) -> None:
        line, column = _line_and_column(self.source, index, self.first_line)
        self.problems.append(Diagnostic(self.path, line, column, "error", message))


_MATH_DELIMITER = re.compile(r"\\\\|\\\$|\$|\\\(|\\\)")


class _MathState:
    """Whether a point of a double-quoted value is inside `$…$` or `\\(…\\)`, asked at points in increasing order:
    each character is read once (delimiters counted as written, an escaped dollar `\\$` skipped), so a value with
    many line continuations costs its length. A rough reading of pandoc's rules, enough to tell TeX from prose."""

    def __init__(self, source: str, start: int) -> None:
        self.source, self.position = source, start
        self.dollars = self.parens = 0

    def inside(self, index: int) -> bool:
        for delimiter in _MATH_DELIMITER.findall(self.source, self.position, index):
            if delimiter == "$":
                self.dollars += 1
            elif delimiter == "\\(":
                self.parens += 1
            elif delimiter == "\\)":
                self.parens = max(self.parens - 1, 0)
        self.position = max(self.position, index)
        return self.dollars % 2 == 1 or self.parens > 0


def _line_and_column(source: str, index: int, first_line: int) -> tuple[int, int]:
    """The 1-based line (in the file) and column of `source[index]`."""
    line_start = source.rfind("\n", 0, index) + 1
    return first_line + source.count("\n", 0, line_start), index - line_start + 1


def _syntax_hint(source: str, error: yaml.MarkedYAMLError) -> str:
    """A fix for the commonest causes of a YAML syntax error, or "": a plain value holding ": " (a title such as
    "Chapter 1: Basics"), and a TAB in the indentation (YAML 1.2 §6.1 allows only spaces there)."""
    problem = error.problem or ""
    mark = error.problem_mark
    if mark is None:
        return ""
    line_start = source.rfind("\n", 0, min(mark.index, len(source))) + 1
    line_end = source.find("\n", line_start)
    line_text = source[line_start : line_end if line_end >= 0 else len(source)].rstrip("\r")
    indent = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
    if "\t" in indent:
        return ": a TAB in the indentation (YAML indents with spaces only): replace it with spaces"
    if "mapping values are not allowed" in problem:
        key, colon, value = line_text.lstrip(" -").partition(": ")
        value = value.strip()
        if colon and value and value[0] not in "'\"[{":
            # single quotes keep a backslash (TeX) and a double quote as written
            quoted = single_quoted(value) if "\\" in value or '"' in value else f'"{value}"'
            return f': a value holding ": " must be quoted: {key}: {quoted}'
        return ': a value holding ": " must be quoted, as in title: "Prices: a guide"'
    return _indicator_hint(line_text)


# A value on a `key: value` line, as the line holds it (the key may be indented, or a list item's)
_KEY_VALUE = re.compile(r"^[ \t]*(?:- +)?([^\s#'\"\[{?:-][^:\n]*?):[ \t]+(\S.*?)[ \t]*$")
# What YAML reads as syntax at the start of a value (YAML 1.2 §5.3, indicator characters): an alias (*), an anchor
# (&), a tag (!), a directive (%), the reserved @ and `, a block scalar (| >), a list item (- ), a key (? ), a flow
# collection ([ {) or a quoted scalar (' ") that the rest of the line does not continue.
_INDICATORS = "*&!%@`|>-?[{'\""


def _indicator_hint(line_text: str) -> str:
    """The quoting fix for a value that starts with a YAML indicator: `title: *Important* notes` → "quote it:
    title: '*Important* notes'"; "" if the line is no `key: value` of that kind."""
    found = _KEY_VALUE.match(line_text)
    if found is None or found.group(2)[0] not in _INDICATORS:
        return ""
    key, value = found.groups()
    first = f"'{value[0]}'" if value[0] == '"' else f'"{value[0]}"'
    return (
        f": a value starting with {first} is read as YAML syntax; for the text, quote it: {key}: {single_quoted(value)}"
    )


def single_quoted(text: str) -> str:
    """`text` as a single-quoted YAML scalar, which keeps every backslash (TeX) as written: ' doubled."""
    return "'" + text.replace("'", "''") + "'"


def _refused_escape(source: str, error: yaml.MarkedYAMLError) -> tuple[int, str, str] | None:
    """(index, escape, TeX word) of the escape YAML refused in double quotes: "\\m" of "\\mathbb", "\\x" of
    "\\xi"; None for any other error."""
    problem = error.problem or ""
    mark = error.problem_mark
    if mark is None or not 0 < mark.index < len(source):
        return None
    if "unknown escape" in problem:  # libyaml marks the backslash, PyYAML the character after it
        index = mark.index if source[mark.index] == "\\" else mark.index - 1
    elif "hexdecimal" in problem or "hexadecimal" in problem:  # marked at the first character that is no hex digit
        index = source.rfind("\\", 0, mark.index)
    else:
        return None
    if index < 0:
        return None
    word = _TEX_WORD.match(source, index)
    return (index, source[index : index + 2], word.group()) if word else None
