"""Where a file beside the posts is published, and its URL: at its path under content/ (`content/primer-ii/a.png`
→ `/primer-ii/a.png`), percent-encoded by RFC 3986."""

from __future__ import annotations

from urllib.parse import quote

from primer_site.sources.discover import CONTENT_DIR
from primer_site.urls import page_url


def asset_output_path(source: str) -> str:
    """Where a file under content/ is published: "content/primer-ii/a.png" → "primer-ii/a.png"."""
    return source.removeprefix(CONTENT_DIR + "/")


# RFC 3986 §3.3: a path segment's characters (pchar) that need no escaping, besides letters, digits and "-._~".
# "%" is not among them: a file's name is text, not a URL, so "x%41.png" is written "x%2541.png". Nor is ",":
# a srcset splits its candidates at commas.
_PATH_SAFE = "/!$&'()*+;=:@"


def file_url(base_path: str, output_path: str) -> str:
    """The URL of a published file: `base_path` (the site's, "/primer/", kept as written in base_url) and the
    file's output path ("vol/a b%.png") percent-encoded as UTF-8 (RFC 3986), "/primer/vol/a%20b%25.png": a server
    that decodes it (urllib.parse.unquote) finds that very file."""
    return page_url(base_path, "/") + quote(output_path, safe=_PATH_SAFE)
