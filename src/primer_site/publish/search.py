"""Full-text search: Pagefind indexes the finished pages in the staging folder, before the swap."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from primer_site.errors import SiteError

_INDEX_FOLDER = "pagefind"


def index_for_search(folder: Path) -> None:
    """Write Pagefind's index and UI bundle into folder/pagefind/, made afresh (Pagefind adds to what the folder
    holds: the last site's fragments would be published again); a failure fails the build."""
    import subprocess  # only for a site with search on: a build without it does not load it

    shutil.rmtree(folder / _INDEX_FOLDER, ignore_errors=True)
    command = [sys.executable, "-m", "pagefind", "--site", str(folder), "--output-subdir", _INDEX_FOLDER, "--quiet"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SiteError(
            f"search: could not run Pagefind ({exc}); install it with: pip install 'pagefind[bin]'"
        ) from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        hint = " (install it with: pip install 'pagefind[bin]')" if "No module named" in result.stderr else ""
        raise SiteError(f"search: Pagefind failed{hint}: {detail[-1] if detail else result.returncode}", "site.yaml")
