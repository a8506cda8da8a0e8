"""``images.processing``: what is stored is re-encoded pixels, never the sender's bytes."""

import io

import pytest
from PIL import Image

from images.pool import refusal_error
from images.processing import FULL_SIDE, THUMB_SIDE, Refused, image_process
from tests.images import samples

MAX = 40_000_000


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_exif_and_gps_are_dropped_and_the_orientation_is_applied():
    source = samples.jpeg(64, 32, orientation=6, gps=True)
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)  # the sample has GPS
    out = image_process(source=io.BytesIO(source), max_pixels=MAX)
    img = decoded(out.image)
    assert img.format == "JPEG" and out.content_type == "image/jpeg"  # opaque: JPEG
    assert not img.getexif() and "exif" not in img.info and "xmp" not in img.info
    # Orientation 6: the camera was turned; the stored image is upright (32 wide, 64 high),
    # and what was the left (red) half is now the top.
    assert (out.width, out.height) == img.size == (32, 64)
    red, _, blue = img.convert("RGB").getpixel((16, 8))
    assert red > 150 and blue < 60


def test_the_thumbnail_keeps_the_aspect_ratio_and_big_images_are_scaled_down():
    out = image_process(source=io.BytesIO(samples.jpeg(3000, 1000)), max_pixels=MAX)
    assert (out.width, out.height) == (FULL_SIDE, FULL_SIDE // 3)
    assert decoded(out.thumb).size == (THUMB_SIDE, THUMB_SIDE // 3)


def test_png_keeps_its_alpha_and_a_gif_gives_its_first_frame():
    out = image_process(source=io.BytesIO(samples.png()), max_pixels=MAX)
    png = decoded(out.image)
    assert out.content_type == "image/webp" and png.format == "WEBP"  # transparency: WebP
    assert png.mode == "RGBA" and png.getpixel((0, 0))[3] == 128
    opaque = image_process(source=io.BytesIO(samples.png(alpha=False)), max_pixels=MAX)
    assert opaque.content_type == "image/jpeg" and opaque.extension == ".jpg"
    gif = image_process(source=io.BytesIO(samples.gif()), max_pixels=MAX)
    assert decoded(gif.image).size == (20, 10)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(samples.jpeg(400, 300, noise=True)[:3000], id="truncated-jpeg"),
        pytest.param(samples.SVG, id="svg"),
        pytest.param(samples.HTML, id="html"),
        pytest.param(b"", id="zero-bytes"),
        pytest.param(b"GIF89a" + b"\0" * 20, id="gif-header-only"),
    ],
)
def test_anything_that_does_not_decode_is_unsupported_media(data):
    with pytest.raises(Refused) as refused:
        image_process(source=io.BytesIO(data), max_pixels=MAX)
    assert refused.value.kind in (Refused.UNSUPPORTED, Refused.DAMAGED)
    error = refusal_error(refused.value, max_pixels=MAX)
    assert error.code == "unsupported_media" and error.status == 415


def test_a_png_bomb_is_refused_from_its_header():
    bomb = samples.png_bomb()
    assert len(bomb) < 200_000  # 64 megapixels in a few kilobytes
    with pytest.raises(Refused) as refused:
        image_process(source=io.BytesIO(bomb), max_pixels=MAX)
    assert refused.value.kind == Refused.TOO_LARGE and refused.value.size == (8000, 8000)
    error = refusal_error(refused.value, max_pixels=MAX)
    assert error.code == "too_large" and error.status == 413 and "8000x8000" in error.detail
