"""What the last good build into an output folder left, kept in .primer-cache/builds/ for the next build there.

Two files per output folder: a small record (the build's inputs and settings, what it printed, the manifest of the
live folder) that tells at once whether a new build would make exactly the same site, and the render memory (every
output's recorded reads), read only when something changed. JSON: a foreign or damaged file is ignored — it costs a
full render, never a wrong page.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from primer_site.caches.inputs import BuildInputs, code_salt
from primer_site.errors import Diagnostic
from primer_site.layout import CACHE_DIR
from primer_site.publish.output import live_folder
from primer_site.publish.staging import Manifest
from primer_site.rendering.render import RenderMemory
from primer_site.store import Stamp

BUILDS_DIR = "builds"
_KEEP = 8  # output folders remembered: `check` builds into a new temporary folder each time
_FORMAT = 2


@dataclass(frozen=True)
class LastBuild:
    """The record of a good build: enough to tell that another would make the same site, and to say what it said."""

    settings: str  # a digest of everything besides files that shapes the output (see build.py)
    files: dict[str, Stamp] | None  # the inputs' stamps; None when one was too recent to be trusted
    moments: tuple[datetime | None, datetime | None]  # the latest post date at or before "now", the earliest after
    counts: tuple[int, int, int, int]  # pages, posts, series, tags
    warnings: tuple[Diagnostic, ...]
    manifest: Manifest

    def makes_the_same(self, settings: str, inputs: BuildInputs, now: datetime) -> bool:
        """Whether a build with these settings, inputs and "now" would make what this one made (then nothing needs
        doing, if the live folder is still as this build left it)."""
        if settings != self.settings or self.files is None or inputs.files != self.files:
            return False
        before, after = self.moments
        # "now" only sorts posts into published and scheduled: the same sort, the same site
        return (before is None or before <= now) and (after is None or now < after)


def recall(source: Path, output: Path) -> LastBuild | None:
    """The record of the last good build into `output`, if there is a readable one made by this code."""
    try:
        data = json.loads(_record_file(source, output).read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT or data.get("code") != code_salt():
            return None
        files = data["files"]
        before, after = data["moments"]
        return LastBuild(
            settings=str(data["settings"]),
            files=None
            if files is None
            else {str(p): (int(a), int(b), int(c), int(d)) for p, (a, b, c, d) in files.items()},
            moments=(_moment(before), _moment(after)),
            counts=tuple(int(n) for n in data["counts"]),  # type: ignore[arg-type]
            warnings=tuple(Diagnostic(str(a), int(b), int(c), str(d), str(e)) for a, b, c, d, e in data["warnings"]),
            manifest=Manifest.from_json(data["manifest"]),
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def recall_render_memory(source: Path, output: Path) -> RenderMemory | None:
    """The render memory the last good build into `output` left (None if there is none this code can read)."""
    try:
        data = json.loads(_memory_file(source, output).read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT or data.get("code") != code_salt():
            return None
        return RenderMemory.load(data["render"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def remember(source: Path, output: Path, last: LastBuild, memory: RenderMemory | None) -> str | None:
    """Keep the record of this build (and its render memory, when it rendered anything): each file written whole,
    then renamed into place. A site that cannot be written to is built afresh next time, as without a cache: then
    the reason is returned (for a warning), and no half-written file is left."""
    record = {
        "format": _FORMAT,
        "code": code_salt(),
        "settings": last.settings,
        "files": last.files,
        "moments": [_text(moment) for moment in last.moments],
        "counts": list(last.counts),
        "warnings": [[d.path, d.line, d.column, d.severity, d.message] for d in last.warnings],
        "manifest": last.manifest.to_json(),
    }
    try:
        if memory is not None:
            _write(_memory_file(source, output), {"format": _FORMAT, "code": code_salt(), "render": memory.dump()})
        _write(_record_file(source, output), record)
        folder = _record_file(source, output).parent
        records = sorted(folder.glob("*.record.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in records[_KEEP:]:
            old.unlink(missing_ok=True)
            old.with_name(old.name.replace(".record.json", ".render.json")).unlink(missing_ok=True)
    except OSError as error:
        with contextlib.suppress(OSError):  # a record of another build would now be wrong for this one
            _record_file(source, output).unlink(missing_ok=True)
        return f"{error.strerror or error}" + (f" ({error.filename})" if error.filename else "")
    return None


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise


def _name(output: Path) -> str:
    return hashlib.blake2b(str(live_folder(output)).encode("utf-8", "surrogateescape"), digest_size=10).hexdigest()


def _record_file(source: Path, output: Path) -> Path:
    return source / CACHE_DIR / BUILDS_DIR / f"{_name(output)}.record.json"


def _memory_file(source: Path, output: Path) -> Path:
    return source / CACHE_DIR / BUILDS_DIR / f"{_name(output)}.render.json"


def _moment(text: object) -> datetime | None:
    return None if text is None else datetime.fromisoformat(str(text))


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
