"""Images are decoded for real, turned upright and re-encoded without their metadata.

A phone photo carries GPS coordinates, the device and the time in EXIF (and XMP);
screenshots carry less but still some. Re-encoding the decoded pixels keeps none of
it. Decoding also proves the file is the image it claims to be: a PNG signature in
front of HTML does not decode."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Final

from PIL import Image, ImageOps

# About 50 megapixels: well above any phone camera or 8K screenshot, well below what
# would take the server's memory (a decompression bomb decodes to gigabytes).
MAX_PIXELS: Final = 50_000_000
_FORMATS: Final = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}


class NotAnImage(ValueError):
    """The bytes do not decode as the image their signature says, or are too large."""


def clean_image(source: Path, kind: str, target: Path) -> None:
    """Decode ``source`` (of sniffed ``kind``) and write it to ``target`` upright and
    without EXIF, GPS, XMP or comments."""
    with warnings.catch_warnings():
        # Pillow warns between MAX_IMAGE_PIXELS and twice it; refuse both the same.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source, formats=[_FORMATS[kind]]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise NotAnImage("the image has too many pixels")
                frames = int(getattr(image, "n_frames", 1))
                if frames * image.width * image.height > 2 * MAX_PIXELS:
                    raise NotAnImage("the animation has too many pixels")
                if frames > 1:
                    _save_animation(image, kind, target)
                    return
                image.load()
                upright = ImageOps.exif_transpose(image)
                _save(upright, kind, target)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise NotAnImage("the image has too many pixels") from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            if isinstance(error, NotAnImage):
                raise
            raise NotAnImage("the file does not decode as an image") from error


def _save(image: Image.Image, kind: str, target: Path) -> None:
    if kind == "jpeg" and image.mode not in {"RGB", "L", "CMYK"}:
        image = image.convert("RGB")
    options: dict[str, object] = {"quality": 90} if kind in {"jpeg", "webp"} else {}
    # No exif=, no pnginfo=: Pillow writes no metadata it is not handed.
    image.save(target, format=_FORMATS[kind], **options)


def _save_animation(image: Image.Image, kind: str, target: Path) -> None:
    frames = []
    for index in range(int(getattr(image, "n_frames", 1))):
        image.seek(index)
        frames.append(image.copy())
    first, rest = frames[0], frames[1:]
    first.info.pop("exif", None)
    first.info.pop("xmp", None)
    first.info.pop("comment", None)
    first.save(
        target,
        format=_FORMATS[kind],
        save_all=True,
        append_images=rest,
        loop=image.info.get("loop", 0),
        duration=image.info.get("duration", 100),
    )
