"""Decode an upload with Pillow and re-encode it: the only bytes ever stored or served.

Re-encoding is the point: what is kept is pixels Pillow decoded, never the sender's bytes,
so metadata (EXIF, GPS, XMP, comments) is dropped, a file that merely claims to be an image
is refused, and a polyglot (an image that is also HTML or a script) does not survive.
CPU-heavy (about a second for a 12-megapixel photo): callers run it off the event loop.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

from chatsite.foundation.errors import TooLarge, UnsupportedMedia

# What Pillow may even try to decode: its other decoders (and there are many) never run.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# Stored as JPEG, or WebP when the image has transparency (JPEG has none). Not WebP for
# everything: encoding a phone photo as WebP costs about 40 times the CPU of JPEG here
# (0.9 s against 0.02 s for 2560x1920), and upload bursts are CPU-bound.
JPEG = ("JPEG", "image/jpeg", ".jpg")
WEBP = ("WEBP", "image/webp", ".webp")
# Longest side kept (a phone photo's detail survives; a 100-megapixel scan does not weigh
# 30 MB on everyone's phone) and of the thumbnail.
FULL_SIDE = 2560
THUMB_SIDE = 400
QUALITY = 82


@dataclass(frozen=True)
class Processed:
    image: bytes
    thumb: bytes
    width: int
    height: int
    content_type: str
    extension: str


def image_process(*, source: str | IO[bytes], max_pixels: int) -> Processed:
    """The upload re-encoded, and its thumbnail; ``UnsupportedMedia`` for anything that does
    not decode as one of ``FORMATS``, ``TooLarge`` past ``max_pixels`` (checked from the
    header, before any pixel is decoded: a decompression bomb costs nothing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=FORMATS) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise TooLarge(
                        gettext(
                            "An image has at most %(megapixels)s megapixels "
                            "(this one %(width)sx%(height)s)."
                        )
                        % {"megapixels": max_pixels // 1000000, "width": width, "height": height}
                    )
                img.load()  # a GIF: its first frame
                return _encode(img)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedMedia() from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Truncated or corrupt data: Pillow's decoders raise these.
        raise UnsupportedMedia(gettext("That image is damaged or incomplete.")) from exc


def _encode(img: Image.Image) -> Processed:
    ImageOps.exif_transpose(img, in_place=True)  # the orientation the camera meant, applied
    alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    wanted = "RGBA" if alpha else "RGB"
    if img.mode != wanted:
        img = img.convert(wanted)
    if max(img.size) > FULL_SIDE:
        img.thumbnail((FULL_SIDE, FULL_SIDE), Image.Resampling.LANCZOS)
    width, height = img.size
    kind, content_type, extension = WEBP if alpha else JPEG
    full = _encoded(img, kind)
    img.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Processed(
        image=full,
        thumb=_encoded(img, kind),
        width=width,
        height=height,
        content_type=content_type,
        extension=extension,
    )


def _encoded(img: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    # No ``exif``/``icc_profile``/``xmp`` passed: none is written.
    img.save(out, format=kind, quality=QUALITY)
    return out.getvalue()
