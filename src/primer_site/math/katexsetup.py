"""Where Node.js and the katex npm package are, found without starting Node (as Node itself looks: node_modules
beside the site or primer-site, a folder above either, NODE_PATH); and the one wording of the advice on what to
install when the KaTeX the pages load cannot run here."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from primer_site.sources.config import KATEX_VERSION


@dataclass(frozen=True)
class KatexSetup:
    """Where Node.js and the katex package are, and the package's version: found without starting Node."""

    node: str | None
    katex: Path | None  # the package folder, node_modules/katex
    version: str | None  # from its package.json

    @property
    def problem(self) -> str | None:
        """Why KaTeX cannot run here (katex_advice), or None."""
        advice = katex_advice(self, pinned=False)
        return advice[0] if advice else None


def npm_install(where: str = "the site folder") -> str:
    """The step that installs the KaTeX the pages load."""
    return f"run `npm install katex@{KATEX_VERSION}` in {where}"


def katex_advice(
    setup: KatexSetup, where: str = "the site folder", *, node: bool = True, pinned: bool = True
) -> tuple[str, str] | None:
    """(what is missing, what to install) for the KaTeX the pages load to run here, or None when it can: the one
    wording of that advice. `where`: the folder to run npm in; `node`: Node.js is needed (not to copy KaTeX's
    files); `pinned`: only KATEX_VERSION will do. npm does not install Node.js, so each gets its own step."""
    npm = npm_install(where)
    if node and not setup.node:
        why = "Node.js (node) is not installed"
        return why, (
            "install Node.js 18 or later (Debian and Ubuntu: `sudo apt-get install nodejs npm`; elsewhere: "
            f"https://nodejs.org/; npm does not install it), then {npm}"
        )
    if setup.katex is None:
        return "the katex npm package was not found (beside site.yaml, in a folder above it, or on NODE_PATH)", npm
    if setup.version is None:
        return f"{setup.katex}/package.json gives no version", f"install it again: {npm}"
    if pinned and setup.version != KATEX_VERSION:
        return f"the katex package found is version {setup.version} ({setup.katex})", npm
    return None


def locate_katex(site: Path, node: str | None = None) -> KatexSetup:
    """Node on PATH (or `node`), and the katex package as find_katex finds it for `site`."""
    node = node if node is not None else (shutil.which("node") or shutil.which("nodejs"))
    katex = find_katex(site)
    version = None
    if katex is not None:
        try:
            version = str(json.loads((katex / "package.json").read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError, TypeError):
            version = None
    return KatexSetup(node, katex, version)


def find_katex(site: Path) -> Path | None:
    """node_modules/katex beside the site or primer-site (or a folder above either, as Node looks), or NODE_PATH."""
    folders: list[Path] = []
    for start in (site.resolve(), Path(__file__).resolve().parent):
        folders += [folder / "node_modules" for folder in (start, *start.parents)]
    folders += [Path(entry) for entry in os.environ.get("NODE_PATH", "").split(os.pathsep) if entry]
    for folder in folders:
        if (folder / "katex" / "package.json").is_file():
            return folder / "katex"
    return None
