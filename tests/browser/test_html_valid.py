"""Every generated page is valid HTML by the Nu Html Checker, run once over all of them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .harness import VNU_JAR, require

pytestmark = pytest.mark.browser  # needs Java (the Nu Html Checker), which `-m "not browser"` does without


def test_every_page_passes_the_nu_html_checker(site_dir: Path, site_pages: list[str]) -> None:
    require("java", "vnu")
    files = [str(site_dir / page) for page in site_pages]
    command = ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(result.stderr)  # vnu writes its report to stderr
    except json.JSONDecodeError:
        raise AssertionError(f"vnu exited {result.returncode} without a JSON report:\n{result.stderr}") from None
    errors = [_describe(m, site_dir) for m in report["messages"] if m.get("type") in ("error", "non-document-error")]
    assert not errors, f"{len(errors)} HTML errors in {len(files)} pages:\n" + "\n".join(errors)
    assert result.returncode == 0, result.stderr


def _describe(message: dict[str, object], site_dir: Path) -> str:
    url = str(message.get("url", "?")).removeprefix("file:")
    where = Path(url).relative_to(site_dir).as_posix() if url.startswith(str(site_dir)) else url
    extract = str(message.get("extract", "")).replace("\n", "⏎")
    return f"{where}:{message.get('lastLine', '?')}: {message.get('message')}  [{extract}]"
