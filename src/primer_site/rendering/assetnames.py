"""Static files' output names: CSS and JS with a content hash in theirs (fingerprints), every file under its
plain name too, and the names templates look up (a page depends on the names it asks for, not on all of them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from primer_site.caches.dependencies import record


def asset_names(static: dict[str, Path], generated: dict[str, bytes], fingerprint: bool) -> dict[str, str]:
    """Every asset's output name. With `fingerprint`, CSS and JS get a content hash in theirs
    (css/style.3f2a9c1e.css), so hosts can cache them forever."""
    names: dict[str, str] = {}
    for path in sorted({*static, *generated}):
        stem, dot, suffix = path.rpartition(".")
        if fingerprint and dot and suffix in ("css", "js"):
            data = generated[path] if path in generated else static[path].read_bytes()
            names[path] = f"{stem}.{hashlib.blake2b(data, digest_size=4).hexdigest()}.{suffix}"
        else:
            names[path] = path
    return names


def static_outputs(published: dict[str, Path], names: dict[str, str]) -> dict[str, Path]:
    """Every static file by output path: under its output name (fingerprinted: asset_names), and under its own
    path too, so that what names it plainly still finds it after `build` as in `serve`: a stylesheet's
    `@import url("extra.css")` or `url(fonts/x.woff2)`, a template's `<script src="js/hello.js">`."""
    outputs = {path: file for path, file in published.items()}
    outputs.update((names[path], file) for path, file in published.items())
    return outputs


class AssetNames(Mapping[str, str]):
    """Static files' output names for templates: a page depends on the names it looks up, not on all of them
    (an image added to static/ must not re-render every page)."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = names

    def __getitem__(self, path: str) -> str:
        record(("asset", path))
        return self._names[path]

    def __iter__(self) -> Iterator[str]:
        record(("global", "assets"))
        return iter(self._names)

    def __len__(self) -> int:
        record(("global", "assets"))
        return len(self._names)

    def __contains__(self, path: object) -> bool:
        if isinstance(path, str):
            record(("asset", path))
        return path in self._names

    def resolve(self, path: str) -> str | None:
        return self._names.get(path)
