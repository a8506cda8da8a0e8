"""Decode an upload with Pillow and re-encode it: the only bytes ever stored or served.

Re-encoding is the point: what is kept is pixels Pillow decoded, never the sender's bytes,
so metadata (EXIF, GPS, XMP, comments) is dropped, a file that merely claims to be an image
is refused, and a polyglot (an image that is also HTML or a script) does not survive.
CPU-heavy (about 0.3 s for a 12-megapixel photo): it runs in a pool worker process at low
priority (``images.pool``), so this module imports Pillow and nothing of Django's; a refusal
is a ``Refused`` the pool turns into the wire error.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

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


class Refused(Exception):
    """Not stored: ``kind`` is ``UNSUPPORTED``, ``DAMAGED`` or ``TOO_LARGE`` (then ``size``
    is the image's width and height). Plain arguments: it crosses a process boundary."""

    UNSUPPORTED, DAMAGED, TOO_LARGE = "unsupported", "damaged", "too_large"

    def __init__(self, kind: str, size: tuple[int, int] | None = None) -> None:
        super().__init__(kind, size)
        self.kind = kind
        self.size = size


@dataclass(frozen=True)
class Processed:
    image: bytes
    thumb: bytes
    width: int
    height: int
    content_type: str
    extension: str


def image_process(*, source: str | IO[bytes], max_pixels: int) -> Processed:
    """The upload re-encoded, and its thumbnail; ``Refused`` for anything that does not
    decode as one of ``FORMATS`` or is damaged, and past ``max_pixels`` (checked from the
    header, before any pixel is decoded: a decompression bomb costs nothing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=FORMATS) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise Refused(Refused.TOO_LARGE, (width, height))
                img.load()  # a GIF: its first frame
                return _encode(img)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(Refused.UNSUPPORTED) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Truncated or corrupt data: Pillow's decoders raise these.
        raise Refused(Refused.DAMAGED) from None


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


# In a pool worker (``images.pool``): only these, and this module, are imported there.


def worker_start(nice: int) -> None:
    """A worker's initializer: lower its priority below the server's by ``nice``; leave
    Ctrl-C to the server (which shuts the pool down); and exit when the server is gone,
    however it went (a worker blocks on a queue whose both ends it holds, so it would
    otherwise outlive a killed server forever)."""
    os.nice(nice)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def image_work(source: str | bytes, max_pixels: int) -> Processed:
    """The image at ``source`` (a path, or its bytes) processed."""
    return image_process(
        source=io.BytesIO(source) if isinstance(source, bytes) else source,
        max_pixels=max_pixels,
    )
