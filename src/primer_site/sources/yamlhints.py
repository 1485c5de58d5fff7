"""What a YAML error message offers as the fix: quoting a value that holds ": " or starts with an indicator,
spaces for a TAB in the indentation, and single quotes (or a block scalar) for a double-quoted value whose
backslashes YAML would read as escapes. Rules: YAML 1.2 §5.3 (indicators), §5.7 (escapes), §6.1 (indentation)."""

from __future__ import annotations

import re

import yaml

from primer_site.lazyregex import lazy_compile

TEX_WORD = lazy_compile(r"\\(?:[A-Za-z]+|.)", re.DOTALL)

KEEP_BACKSLASHES = "write the value in single quotes or as a block scalar (|), which keep every backslash"


def syntax_hint(source: str, error: yaml.MarkedYAMLError) -> str:
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
_KEY_VALUE = lazy_compile(r"^[ \t]*(?:- +)?([^\s#'\"\[{?:-][^:\n]*?):[ \t]+(\S.*?)[ \t]*$")

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


def refused_escape(source: str, error: yaml.MarkedYAMLError) -> tuple[int, str, str] | None:
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
    word = TEX_WORD.match(source, index)
    return (index, source[index : index + 2], word.group()) if word else None
