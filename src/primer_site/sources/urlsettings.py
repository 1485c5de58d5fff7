"""The URL settings of site.yaml: what a `base_url` (and `katex_url`) must be, by RFC 3986, and `permalinks:`,
the pattern of each kind of page's URL. Each reader reports a value it refuses through `bad(message)`."""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import unquote, urlsplit

from primer_site.sources.sharedkeys import suggest
from primer_site.sources.yamldoc import describe
from primer_site.urls import permalink_fields

DEFAULT_PERMALINKS = {
    "post": "/posts/{slug}/",
    "series": "/series/{slug}/",
    "tag": "/tags/{slug}/",
    "category": "/categories/{slug}/",
}


def is_absolute_https(url: str) -> bool:
    """Whether `url` is https://host/… (RFC 3986: scheme and authority), the only kind every page resolves alike."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc)


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be a site's base_url, or None: it must be an absolute http(s) URL, as feeds (RFC 4287
    §4.2.6, atom:id) and sitemaps (sitemaps.org: "fully-qualified URL") require."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as error:
        return f"is not a URL ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        rest = url.split("://", 1)[-1]
        example = f"https://example.org{rest}" if rest.startswith("/") or not rest else f"https://{rest}"
        return f"must be an absolute http(s) URL, such as {example}"
    if parts.query or parts.fragment:
        return "must not have a query (?…) or a fragment (#…)"
    if any(c.isspace() for c in url):
        return "must not contain spaces"
    segments = [unquote(segment) for segment in parts.path.split("/")]
    if "." in segments or ".." in segments:  # RFC 3986 §5.2.4 dot-segments (%2e too, as browsers read them)
        folder = posixpath.normpath("/".join(segments) or "/").rstrip("/") + "/"
        return f"must not have '.' or '..' segments: write the folder they lead to, {parts.scheme}://{parts.netloc}{folder}"
    return None


def read_permalinks(value: object, bad: Any) -> dict[str, str]:
    """`permalinks: {post: /posts/{slug}/}` → each page kind's pattern, DEFAULT_PERMALINKS for a kind not given
    or refused."""
    result = dict(DEFAULT_PERMALINKS)
    if not isinstance(value, dict):
        bad("expected a mapping such as {post: /posts/{slug}/}")
        return result
    for kind, pattern in value.items():
        if kind not in DEFAULT_PERMALINKS:
            bad(f"unknown page kind {describe(kind)}{suggest(str(kind), list(DEFAULT_PERMALINKS))}")
        elif not isinstance(pattern, str) or "{slug}" not in pattern or not pattern.startswith("/"):
            bad(f"{kind}: {describe(pattern)} must start with / and contain {{slug}}")
        elif {".", ".."} & set(pattern.split("/")) or "" in pattern.split("/")[1:-1]:
            bad(f"{kind}: {describe(pattern)} must not contain '..', '.' or '//'")
        elif problem := _placeholder_problem(kind, pattern):
            bad(f"{kind}: {describe(pattern)} {problem}")
        elif not pattern.endswith("/") and (kind != "post" or not pattern.endswith(".html")):
            # without either, the page is written as a file with no extension, which servers send as a download
            bad(f"{kind}: {describe(pattern)} " + (
                "must end with / (a folder: /posts/{slug}/) or name its extension (/posts/{slug}.html)"
                if kind == "post" else "must end with /: a listing's later pages go in its folder (page/2/)"
            ))  # fmt: skip
        else:
            result[kind] = pattern
    return result


def _placeholder_problem(kind: str, pattern: str) -> str | None:
    """Why `pattern` cannot be filled in (str.format would raise, or reach into attributes); None if it can."""
    allowed = ("slug", "year", "month", "day") if kind == "post" else ("slug",)
    try:
        fields = permalink_fields(pattern)
    except ValueError as error:
        return f"is not a valid pattern ({error}; write {{{{ or }}}} for a literal brace)"
    for name, spec, conversion in fields:
        if name not in allowed or spec or conversion:
            return f"has {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}: " + (
                "only " + ", ".join(f"{{{a}}}" for a in allowed) + " can be used here"
            )
    return None
