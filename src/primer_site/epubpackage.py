"""The OCF container and the package document of an EPUB 3 (W3C/IDPF "EPUB Open Container Format 3.2" and
"EPUB Packages 3.2"): the zip, its `mimetype` and META-INF/container.xml, and the OPF's metadata, manifest and
spine. epub.py makes the documents that go in.

The bytes are a function of the files alone: fixed timestamps and attributes on every zip entry, entries in a
fixed order, dcterms:modified the newest date of a chapter (never the clock).
"""

from __future__ import annotations

import html
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from io import BytesIO

from .config import SiteConfig
from .model import Post, Series

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest: no build time in the file
Manifest = Sequence[tuple[str, str, str, str]]  # (id, href, media type, properties) of each file


def book_identifier(series: Series, config: SiteConfig) -> str:
    """The volume's dc:identifier: a UUID (RFC 4122, version 5, in the URL namespace) of its page's absolute URL,
    the same in every build of the same site, another for another site or series."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, config.origin + series.url)}"


def package_document(
    series: Series,
    config: SiteConfig,
    title: str,
    authors: Sequence[str],
    posts: Sequence[Post],
    manifest: Manifest,
    spine: Sequence[str],
) -> str:
    """The OPF of a volume: its metadata, the manifest of every file and the spine in reading order."""
    modified = max((_newest(post) for post in posts), default=datetime(2000, 1, 1, tzinfo=UTC))
    first = min(post.date for post in posts).astimezone(UTC)
    creators = "".join(
        f'    <dc:creator id="creator-{n}">{html.escape(name)}</dc:creator>\n' for n, name in enumerate(authors, 1)
    )
    items = "".join(
        f'    <item id="{item}" href="{href}" media-type="{kind}"'
        + (f' properties="{properties}"' if properties else "")
        + "/>\n"
        for item, href, kind, properties in manifest
    )
    itemrefs = "".join(f'    <itemref idref="{item}"/>\n' for item in spine)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" '
        f'xml:lang="{html.escape(config.language)}">\n'
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'    <dc:identifier id="book-id">{book_identifier(series, config)}</dc:identifier>\n'
        f"    <dc:title>{html.escape(title)}</dc:title>\n"
        f"    <dc:language>{html.escape(config.language)}</dc:language>\n"
        f"{creators}"
        f"    <dc:publisher>{html.escape(config.title)}</dc:publisher>\n"
        f"    <dc:date>{first:%Y-%m-%d}</dc:date>\n"
        f"    <dc:source>{html.escape(config.origin + series.url)}</dc:source>\n"
        f'    <meta property="dcterms:modified">{modified.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</meta>\n'
        "  </metadata>\n"
        f"  <manifest>\n{items}  </manifest>\n"
        f"  <spine>\n{itemrefs}  </spine>\n"
        "</package>\n"
    )


def _newest(post: Post) -> datetime:
    return post.updated if post.updated is not None and post.updated > post.date else post.date


CONTAINER = """<?xml version="1.0" encoding="utf-8"?>
<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">
  <rootfiles>
    <rootfile full-path="EPUB/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def ocf_zip(files: dict[str, bytes]) -> bytes:
    """The OCF container: `mimetype` first and stored (OCF 3.2 §4.3), then every file in name order, each with the
    same fixed time and attributes, so that the same files give the same bytes."""
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        entries = [("mimetype", b"application/epub+zip", zipfile.ZIP_STORED)]
        entries += [(name, files[name], zipfile.ZIP_DEFLATED) for name in sorted(files)]
        for name, data, method in entries:
            if name.endswith((".xhtml", ".opf", ".xml", ".svg")) and not name.startswith("EPUB/images/"):
                ET.fromstring(data)  # well-formed, or this is a bug of the writer's: raises ParseError
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = method
            info.create_system = 3  # Unix
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=method, compresslevel=9 if method else None)
    return out.getvalue()
