"""Tables of compiled code kept beside the package's bytecode (dataclasscode's methods, regexcode's patterns, and
salts.code_digest's digest of the package's code with its files' stamps): where one is kept, and its file: a header
naming what wrote it and for which interpreter, a digest of the data (BLAKE2b: it catches damage; the file is
trusted as the .pyc files beside it are), then marshal's data, the format of .pyc files. Nothing is written under
PYTHONDONTWRITEBYTECODE, or to a folder that cannot be written.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
from collections.abc import Callable
from importlib.util import cache_from_source
from typing import Any

_DIGEST_SIZE = 16


def kept_path(source: str, suffix: str) -> str | None:
    """Where a table of the module whose file is `source` is kept: beside its bytecode, its name ending in `suffix`;
    None where Python keeps none."""
    try:
        return cache_from_source(source).removesuffix(".pyc") + suffix
    except (NotImplementedError, ValueError):  # no cache tag (sys.implementation.cache_tag is None)
        return None


def read_kept(path: str, header: bytes) -> object:
    """The value kept at `path` under `header` (this module's file format: header, digest, marshal data); None if
    there is none, or it has another header, or is damaged."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None
    start = len(header) + _DIGEST_SIZE
    if not data.startswith(header) or data[len(header) : start] != _digest(data[start:]):
        return None
    try:
        return marshal.loads(data[start:])
    except (EOFError, ValueError, TypeError):
        return None


def write_kept(path: str, header: bytes, value: object) -> None:
    """Write `value` at `path` under `header`, whole (a new file moved into place: a reader never sees half of one);
    nothing if the folder cannot be written, or marshal cannot write the value (a subclass of str in it)."""
    try:
        payload = marshal.dumps(value)
    except ValueError:
        return
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as file:
            file.write(header + _digest(payload) + payload)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).digest()


def read_entries(path: str, header: bytes, valid: Callable[[Any, Any], bool]) -> dict[Any, Any]:
    """The entries of the table kept at `path` under `header` that `valid(key, entry)` accepts; empty if there is
    none, or it is another Python's, or damaged."""
    table = read_kept(path, header)
    if not isinstance(table, dict):
        return {}
    return {key: entry for key, entry in table.items() if valid(key, entry)}


def save_kept(
    path: str | None, header: bytes, kept: dict[Any, Any], used: dict[Any, Any], gained: int, most: int
) -> None:
    """Write a table this process `gained` entries for (nothing else makes it worth a write): what was `kept` with
    what this process `used`, or only the latter once that is past `most` entries (a table never grows without
    bound); nothing at no `path`, or under PYTHONDONTWRITEBYTECODE."""
    if not gained or path is None or sys.dont_write_bytecode:
        return
    table = {**kept, **used}
    write_kept(path, header, table if len(table) <= most else used)
