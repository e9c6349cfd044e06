"""The logo check: raster formats by their first bytes, bounded; everything else named."""

from __future__ import annotations

import hashlib

import pytest

from guestgate.domain.branding import MAX_LOGO_BYTES, check_logo, initials
from guestgate.errors import ValidationError

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 16, "image/jpeg"),
        (b"GIF89a" + b"\0" * 16, "image/gif"),
        (b"GIF87a" + b"\0" * 16, "image/gif"),
        (b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 16, "image/webp"),
    ],
)
def test_raster_images_are_taken_by_their_first_bytes(data: bytes, content_type: str) -> None:
    logo = check_logo(data)
    assert logo.content_type == content_type
    assert logo.etag == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg/>',
        b"<html><body>not an image</body></html>",
        b"RIFF\x10\0\0\0WAVEfmt ",  # RIFF, but audio
        b"\x89PNX\r\n\x1a\n",
        b"BM" + b"\0" * 64,  # BMP is not taken
    ],
)
def test_anything_else_is_refused_naming_the_formats(data: bytes) -> None:
    with pytest.raises(ValidationError) as refused:
        check_logo(data)
    assert refused.value.code == "InvalidLogo"
    assert "PNG, JPEG, GIF or WebP" in refused.value.message
    assert "SVG is not accepted" in refused.value.message


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        check_logo(b"")
    assert refused.value.code == "InvalidLogo"
    assert "empty" in refused.value.message


def test_a_file_past_256_kib_is_refused_and_one_at_the_limit_taken() -> None:
    assert check_logo(PNG + b"\0" * (MAX_LOGO_BYTES - len(PNG))).content_type == "image/png"
    with pytest.raises(ValidationError) as refused:
        check_logo(PNG + b"\0" * (MAX_LOGO_BYTES - len(PNG) + 1))
    assert refused.value.code == "LogoTooLarge"
    assert "256 KiB" in refused.value.message


def test_initials_are_the_first_letters_of_two_words() -> None:
    assert initials("Contoso Ltd Europe") == "CL"
    assert initials("contoso") == "C"
    assert initials(None) == ""
