"""Values a caller declares as text (its `TextShape`), read as the author wrote them: YAML 1.1's implicit types
are not applied to them (`1.10` stays "1.10", `010` stays "010", `yes` stays "yes"), and a double-quoted one whose
escapes would change its TeX (`"$\\times$"` holds a TAB in YAML) is refused at the escape, never changed; so is
a plain value cut short by a glued `#` comment, and a type no page can hold (`!!binary`). TextReader walks the
composed nodes and collects each problem as a Diagnostic at its line and column."""

from __future__ import annotations

import re

import yaml

from primer_site.errors import Diagnostic
from primer_site.lazyregex import lazy_compile
from primer_site.sources.yamlhints import KEEP_BACKSLASHES, TEX_WORD, single_quoted

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

# What YAML 1.2 (§5.7) makes of each escape the loader refuses.
_ESCAPE_MEANING = {
    "0": "a NUL character", "a": "a bell character (BEL)", "b": "a backspace", "t": "a TAB", "\t": "a TAB",
    "n": "a line break", "v": "a vertical tab", "f": "a form feed", "r": "a carriage return",
    "e": "an escape character (ESC)", " ": "a space", "/": "a slash", "N": "a next-line character (U+0085)",
    "_": "a no-break space (U+00A0)", "L": "a line separator (U+2028)", "P": "a paragraph separator (U+2029)",
}  # fmt: skip

# A space and "#" start a comment after a plain scalar. A "#" glued to what follows (a TeX parameter #1, an issue
# #12, a hashtag #importance) is meant as text: a comment is written "# like this", after a space.
_GLUED_COMMENT = lazy_compile(r"[ \t]+(#[^ \t\n]+)")


class TextReader:
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
                word = TEX_WORD.match(self.source, escape.start())
                read_as = f'"{escape.group()}" as {_ESCAPE_MEANING.get(char, "another character")}'
                changed = f'"{word.group() if word else escape.group()}"'
            self._report(
                f"{where}: in double quotes YAML reads {read_as}, so {changed} would not stay as written: "
                + KEEP_BACKSLASHES,
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
        line, column = line_and_column(self.source, index, self.first_line)
        self.problems.append(Diagnostic(self.path, line, column, "error", message))


_MATH_DELIMITER = lazy_compile(r"\\\\|\\\$|\$|\\\(|\\\)")


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


def line_and_column(source: str, index: int, first_line: int) -> tuple[int, int]:
    """The 1-based line (in the file) and column of `source[index]`."""
    line_start = source.rfind("\n", 0, index) + 1
    return first_line + source.count("\n", 0, line_start), index - line_start + 1
