"""The site's folder: finding it from where a command runs, and cleaning what builds leave in and beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

from primer_site.errors import SiteError
from primer_site.layout import CACHE_DIR, CONFIG_FILE, OUTPUT_DIR, SOURCE_FOLDERS
from primer_site.publish.output import check_output_folder, remove_output
from primer_site.publish.swap import recover_output
from primer_site.sources.config import config_near_miss, missing_config_message


def find_site(folder: Path | None, start: Path | None = None) -> Path:
    """The site's folder: `folder` when given (it must hold site.yaml); else `start` (the working folder) or the
    nearest folder above it that holds site.yaml, as git finds its repository. SiteError when there is none.

    The search stops at a folder holding a misspelt site.yaml (site.yml), to say so rather than build another site.
    """
    if folder is not None:
        if not folder.is_dir():
            raise SiteError(f"site folder {folder} does not exist")
        if not (folder / CONFIG_FILE).is_file():
            raise SiteError(missing_config_message(folder))
        return folder
    start = (start or Path.cwd()).absolute()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
        if config_near_miss(candidate) is not None:
            raise SiteError(missing_config_message(candidate))
    raise SiteError(
        f"no {CONFIG_FILE} in {start} or any folder above it; `primer-site new site DIR` makes one "
        "(or give the site's folder with --source)"
    )


def clean_site(source: Path, output: Path | None = None, force: bool = False) -> list[Path]:
    """Remove the output folder (default SOURCE/public), its staging folder and the body cache; returns what was
    removed. Only folders primer-site made are removed (see write.remove_output), unless `force`."""
    output = output if output is not None else source / OUTPUT_DIR
    check_output_folder(source, output, SOURCE_FOLDERS)
    recover_output(output)  # a swap or a marker a killed build left half done: finished or dropped first
    removed = remove_output(output, force)
    cache = source / CACHE_DIR
    if cache.is_dir() and not cache.is_symlink():
        shutil.rmtree(cache)
        removed.append(cache)
    return removed
