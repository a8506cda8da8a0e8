"""Images and hostile files, made by the tests themselves."""

from __future__ import annotations

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg(width: int = 64, height: int = 32, *, orientation: int | None = None, gps: bool = False,
         quality: int = 90, noise: bool = False) -> bytes:  # fmt: skip
    """A JPEG; left half red, right half blue (to see a rotation), EXIF as asked."""
    if noise:
        img = Image.effect_noise((width, height), 64).convert("RGB")
    else:
        img = Image.new("RGB", (width, height), (200, 0, 0))
        img.paste((0, 0, 200), (width // 2, 0, width, height))
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[0x010F] = "Camera Maker"
        exif.get_ifd(GPS_IFD).update(
            {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 40.0)}
        )
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 40, height: int = 30, *, alpha: bool = True) -> bytes:
    img = Image.new(
        "RGBA" if alpha else "RGB", (width, height), (10, 200, 10, 128)[: 4 if alpha else 3]
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def gif(frames: int = 3) -> bytes:
    images = [Image.new("P", (20, 10), n) for n in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:])
    return out.getvalue()


def png_bomb(side: int = 8000) -> bytes:
    """A real PNG of ``side``² black grey pixels (64 megapixels by default) that weighs
    a few tens of kilobytes: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    compressor = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + a row of zeros
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>'
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def upload(
    data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
