"""An image file's intrinsic size in CSS pixels, as a browser lays it out: rasters read by Pillow (EXIF
orientation applied), SVG from its root element's width and height, or its viewBox.

SVG is XML from the author: it is read with expat only up to its root element, refusing entity declarations
(no entity expansion can be asked for) and reading at most SVG_READ_LIMIT bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from primer_site.lazyregex import lazy_compile

SVG_READ_LIMIT = 1 << 20  # bytes read before the root element must have been seen
_CHUNK = 1 << 16
# CSS absolute units in px (CSS Values and Units 4, "Absolute lengths")
_UNITS = {"": 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "q": 96 / 101.6, "pt": 4 / 3, "pc": 16.0}
_LENGTH = lazy_compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z%]*)\s*")
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that turn the image a quarter: width and height swap
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ImageSize:
    """An image's intrinsic size, in CSS pixels."""

    width: int  # CSS pixels
    height: int


class ImageProblem(Exception):
    """Why a file's size cannot be read: the message says it, for the line that shows the image."""


def image_size(path: Path) -> ImageSize:
    """The size `path` is laid out at; ImageProblem if it is not an image we can size."""
    if path.suffix.lower() == ".svg":
        return svg_size(path)
    return raster_size(path)


def raster_size(path: Path) -> ImageSize:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the header, not the pixels
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION) if image.format in ("JPEG", "WEBP", "TIFF") else None
    except UnidentifiedImageError:
        raise ImageProblem("not an image Pillow can read (PNG, JPEG, GIF, WebP, AVIF…) or SVG") from None
    except Image.DecompressionBombError as error:
        raise ImageProblem(f"too large to read safely ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageProblem(f"cannot read it as an image ({error})") from None
    if orientation in _ROTATED:
        width, height = height, width
    return ImageSize(width, height)


def raster_format(data: bytes) -> str | None:
    """The format of a raster image's bytes as Pillow names it from their header ("PNG", "JPEG", "GIF", "WEBP"…),
    or None if Pillow knows none: what a file is, whatever its name says."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header, not the pixels
            return image.format
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return None


class _RootSeen(Exception):
    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        self.name, self.attributes = name, attributes


def svg_root(path: Path) -> tuple[str, dict[str, str]]:
    """The root element's local name and attributes, read safely (see the module's docstring)."""
    import xml.parsers.expat  # only for a site with SVG images beside its posts: others never load it

    parser = xml.parsers.expat.ParserCreate()

    def start(name: str, attributes: dict[str, str]) -> None:
        raise _RootSeen(name.rpartition(":")[2], attributes)

    def refuse_entities(*args: object) -> None:
        raise ImageProblem("the SVG declares XML entities: primer-site does not expand them (remove the DOCTYPE)")

    parser.StartElementHandler = start
    parser.EntityDeclHandler = refuse_entities
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    read = 0
    try:
        with path.open("rb") as file:
            while read < SVG_READ_LIMIT:
                chunk = file.read(_CHUNK)
                read += len(chunk)
                parser.Parse(chunk, not chunk)
                if not chunk:
                    break
    except _RootSeen as root:
        return root.name, root.attributes
    except xml.parsers.expat.ExpatError as error:
        reason = xml.parsers.expat.ErrorString(error.code)
        raise ImageProblem(f"not well-formed XML ({reason}, line {error.lineno})") from None
    except OSError as error:
        raise ImageProblem(f"cannot read it ({error.strerror})") from None
    raise ImageProblem(f"no root element in its first {SVG_READ_LIMIT // 1024} KiB")


def svg_size(path: Path) -> ImageSize:
    """From width and height in absolute units; a missing (or relative: %, em) one from the viewBox's ratio."""
    name, attributes = svg_root(path)
    if name != "svg":
        raise ImageProblem(f"its root element is <{name}>, not <svg>")
    width, height = _length(attributes.get("width")), _length(attributes.get("height"))
    box = _view_box(attributes.get("viewBox"))
    if width is None and height is None:
        if box is None:
            raise ImageProblem("the SVG has neither width and height nor a viewBox: give its <svg> a viewBox")
        width, height = box
    elif width is None or height is None:
        if box is None:
            raise ImageProblem("the SVG gives only one of width and height, and no viewBox to scale the other by")
        ratio = box[1] / box[0]
        width, height = (width, width * ratio) if width is not None else (height / ratio, height)  # type: ignore[operator]
    size = ImageSize(round(width), round(height))  # type: ignore[arg-type]
    if size.width <= 0 or size.height <= 0:
        raise ImageProblem(f"its size is {size.width}×{size.height} px")
    return size


def _length(value: str | None) -> float | None:
    """An absolute length in px, or None (missing, or relative to what contains the image)."""
    if value is None:
        return None
    match = _LENGTH.fullmatch(value)
    if match is None or match.group(2).lower() not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def _view_box(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    try:
        numbers = [float(n) for n in re.split(r"[\s,]+", value.strip())]
    except ValueError:
        return None
    if len(numbers) != 4 or numbers[2] <= 0 or numbers[3] <= 0:
        return None
    return numbers[2], numbers[3]
