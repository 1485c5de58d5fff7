"""The images among the files beside the posts: each one's size (read once per version of the file), its
narrower copies for `srcset` (`images: {srcset: [480, 960]}`: made once per content, kept in
.primer-cache/images/), and the attributes its <img> gets (width and height, srcset and sizes, lazy loading).

AssetImages is the image half of assets.AssetIndex: its methods read the index's root, config, stamps, memo and
used_variants. An image that cannot be read is a message (str) in place of its size, reported where it is shown."""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from primer_site.layout import CACHE_DIR
from primer_site.site.assetpaths import asset_output_path, file_url
from primer_site.sources.config import SiteConfig
from primer_site.sources.imagesize import ImageProblem, ImageSize, image_size
from primer_site.store import Stamp
from primer_site.syntax.markdown import AssetRef, RenderedBody
from primer_site.workers import start_worker

VARIANT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # rasters worth resizing (not GIF: it may be animated)


VARIANTS_DIR = "images"  # in .primer-cache/


@dataclass(frozen=True)
class Variant:
    """A smaller copy of a published image, for its srcset."""

    width: int
    output_path: str  # "primer-ii/attention-480w.png"
    file: Path  # in .primer-cache/images/


def _whole(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() and int(value) > 0 else None


def _make_variants(root: Path, target: str, size: ImageSize, widths: tuple[int, ...]) -> tuple[Variant, ...] | str:
    """Resized copies of `target` at each width narrower than it, made once per content (kept by digest); a copy
    no smaller in bytes than the image itself is left out of the srcset (and remembered as such)."""
    from PIL import Image, ImageOps

    source = root / target
    data = source.read_bytes()
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    folder = root / CACHE_DIR / VARIANTS_DIR
    stem, suffix = posixpath.splitext(asset_output_path(target))
    made = []
    for width in sorted(w for w in widths if w < size.width):
        file = folder / f"{digest}-{width}{suffix.lower()}"
        larger = file.with_suffix(".larger")  # made before, and no smaller in bytes than the image itself
        if larger.is_file():
            continue
        if not file.is_file():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with Image.open(io.BytesIO(data)) as image:  # the bytes digested: the file may change meanwhile
                    kind = image.format
                    upright = ImageOps.exif_transpose(image)
                    if upright.mode == "P":
                        upright = upright.convert("RGBA")
                    height = max(1, round(upright.height * width / upright.width))
                    small = upright.resize((width, height), Image.Resampling.LANCZOS)
                    temporary = file.with_name(f".{file.name}.{os.getpid()}")
                    small.save(temporary, format=kind, **({"quality": 85} if kind in ("JPEG", "WEBP") else {}))
                    os.replace(temporary, file)
            except (OSError, ValueError) as error:
                return f"cannot make its {width} px copy ({error})"
        if file.stat().st_size >= len(data):  # a smooth plot's PNG can grow when resampled: no use to a reader
            larger.touch()
            file.unlink()
            continue
        made.append(Variant(width, f"{stem}-{width}w{suffix}", file))
    return tuple(made)


class AssetImages:
    """Sizes, srcset copies and <img> attributes of an AssetIndex's images (mixed into it; `memo` is its
    assets.AssetMemo)."""

    root: Path
    config: SiteConfig
    stamps: dict[str, Stamp | None]
    used_variants: dict[str, Path]

    def _image_attributes(self, ref: AssetRef, size: ImageSize, stamp: Stamp) -> str:
        given = dict(ref.given)
        width, height = _whole(given.get("width")), _whole(given.get("height"))
        attributes = []
        # the size the image is laid out at, so nothing moves when it arrives (an author's own kept)
        if "width" not in given and "height" not in given:
            attributes += [f'width="{size.width}"', f'height="{size.height}"']
        elif width is not None and "height" not in given:
            attributes.append(f'height="{round(width * size.height / size.width)}"')
        elif height is not None and "width" not in given:
            attributes.append(f'width="{round(height * size.width / size.height)}"')
        if "srcset" not in given:
            variants = self._use_variants(ref, stamp, size)
            if variants:
                base = self.config.base_path
                candidates = [f"{file_url(base, v.output_path)} {v.width}w" for v in variants]
                candidates.append(f"{file_url(base, asset_output_path(ref.target))} {size.width}w")
                attributes.append(f'srcset="{escape(", ".join(candidates))}"')
                if "sizes" not in given:
                    attributes.append(f'sizes="{escape(self.config.image_sizes)}"')
        if "decoding" not in given:
            attributes.append('decoding="async"')
        if "loading" not in given:
            attributes.append('loading="lazy"')  # but the first image of a page: eager_first_image
        return "".join(" " + a for a in attributes)

    def size(self, target: str, stamp: Stamp) -> ImageSize | str:
        """The image's size, or why it has none; read once per version of the file."""
        key = (target, stamp)
        if key not in self.memo.sizes:
            try:
                self.memo.sizes[key] = image_size(self.root / target)
            except ImageProblem as problem:
                self.memo.sizes[key] = str(problem)
        return self.memo.sizes[key]

    def make_variants(self, bodies: Iterable[RenderedBody], jobs: int) -> None:
        """Make the srcset copies that the bodies' images still lack, on `jobs` processes when there are many (a
        cold build of a site with a thousand images); otherwise each is made when its image is filled."""
        widths = self.config.image_widths
        if not widths or jobs <= 1:
            return
        wanted: dict[tuple[str, Stamp, tuple[int, ...]], ImageSize] = {}
        for body in bodies:
            for ref in body.assets:
                stamp = self.stamps.get(ref.target)
                if not ref.image or stamp is None or not ref.target.lower().endswith(VARIANT_SUFFIXES):
                    continue
                key = (ref.target, stamp, widths)
                if key in self.memo.variants or key in wanted or "srcset" in dict(ref.given):
                    continue
                size = self.size(ref.target, stamp)
                if isinstance(size, ImageSize) and size.width > min(widths):
                    wanted[key] = size
        if len(wanted) < 16:  # fewer than that do not repay starting processes
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        keys = list(wanted)
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=start_worker) as pool:
            made = pool.map(
                _make_variants,
                [self.root] * len(keys),
                [key[0] for key in keys],
                [wanted[key] for key in keys],
                [widths] * len(keys),
                chunksize=max(1, len(keys) // (jobs * 4)),
            )
            self.memo.variants.update(zip(keys, made, strict=True))

    def _use_variants(self, ref: AssetRef, stamp: Stamp | None = None, size: ImageSize | None = None) -> list[Variant]:
        """The narrower copies of an image listed in its srcset (made once, kept in .primer-cache/images)."""
        widths = self.config.image_widths
        stamp = stamp or self.stamps.get(ref.target)
        if not widths or not ref.image or stamp is None or "srcset" in dict(ref.given):
            return []
        if not ref.target.lower().endswith(VARIANT_SUFFIXES):
            return []
        size = size or (known if isinstance(known := self.size(ref.target, stamp), ImageSize) else None)
        if size is None or size.width <= min(widths):
            return []
        key = (ref.target, stamp, widths)
        if key not in self.memo.variants:
            self.memo.variants[key] = _make_variants(self.root, ref.target, size, widths)
        made = self.memo.variants[key]
        if isinstance(made, str):
            return []
        for variant in made:
            self.used_variants[variant.output_path] = variant.file
        return list(made)
