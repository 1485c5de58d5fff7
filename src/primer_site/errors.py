"""The one error type: a message located at a source path and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from primer_site.lazyregex import lazy_compile

# A diagnostic prints on one line, to any terminal, whatever a file name or value in it holds (newline, NUL, ESC,
# a lone surrogate from an undecodable file name).
_UNPRINTABLE = lazy_compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One located problem; `severity` is "error" or "warning"."""

    path: str
    line: int
    column: int
    severity: str
    message: str

    def __str__(self) -> str:
        where = _one_line(self.path) or "<site>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.severity}: {_one_line(self.message)}"


class SiteError(Exception):
    """One or more located errors; raised by a stage after it has gathered all it found."""

    def __init__(
        self,
        message: str = "",
        path: str | PurePath = "",
        line: int = 0,
        column: int = 0,
        *,
        diagnostics: Iterable[Diagnostic] = (),
    ) -> None:
        found = list(diagnostics)
        if message:
            found.append(Diagnostic(str(path), line, column, "error", message))
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(found))
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @property
    def path(self) -> str:
        return self.diagnostics[0].path if self.diagnostics else ""

    @property
    def line(self) -> int:
        return self.diagnostics[0].line if self.diagnostics else 0


class Problems:
    """A collector a stage fills while it works, then raises from once."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, message: str, path: str | PurePath = "", line: int = 0, column: int = 0) -> None:
        self.items.append(Diagnostic(str(path), line, column, "error", message))

    def warning(self, message: str, path: str | PurePath = "", line: int = 0, column: int = 0) -> None:
        self.items.append(Diagnostic(str(path), line, column, "warning", message))

    def absorb(self, error: SiteError) -> None:
        self.items.extend(error.diagnostics)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise SiteError(diagnostics=self.items)
