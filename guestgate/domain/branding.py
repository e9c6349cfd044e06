"""The tenant's logo: the image an admin gives guestgate, shown on its pages and served from
guestgate's own origin (a page loads nothing from another one).

Only raster formats, told by their first bytes, never by a name or a declared type: an SVG
can carry script, and a file that only claims to be an image is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from guestgate.errors import ValidationError

MAX_LOGO_BYTES = 256 * 1024
LOGO_TYPES = "PNG, JPEG, GIF or WebP"

_SIGNATURES: tuple[tuple[str, bytes, int, bytes], ...] = (
    # content type, prefix, offset of a second marker, that marker
    ("image/png", b"\x89PNG\r\n\x1a\n", 0, b""),
    ("image/jpeg", b"\xff\xd8\xff", 0, b""),
    ("image/gif", b"GIF87a", 0, b""),
    ("image/gif", b"GIF89a", 0, b""),
    ("image/webp", b"RIFF", 8, b"WEBP"),
)


@dataclass(frozen=True, slots=True)
class Logo:
    content_type: str
    data: bytes
    etag: str  # the SHA-256 of `data`, hex: a strong validator, and the pages' cache key


def logo_type(data: bytes) -> str | None:
    """The image type that `data` starts with, or None if it is not one guestgate takes."""
    for content_type, prefix, offset, marker in _SIGNATURES:
        if data.startswith(prefix) and (not marker or data[offset : offset + 4] == marker):
            return content_type
    return None


def check_logo(data: bytes) -> Logo:
    """A logo from an uploaded file, or ValidationError naming what is wrong with it."""
    if not data:
        raise ValidationError("logo: the file is empty.", code="InvalidLogo")
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError(
            f"logo: the file is {len(data)} bytes; at most {MAX_LOGO_BYTES} (256 KiB).",
            code="LogoTooLarge",
        )
    content_type = logo_type(data)
    if content_type is None:
        raise ValidationError(
            f"logo: the file is not a {LOGO_TYPES} image (SVG is not accepted).",
            code="InvalidLogo",
        )
    return Logo(content_type=content_type, data=data, etag=hashlib.sha256(data).hexdigest())


def initials(org: str | None) -> str:
    """What the pages show in place of a logo: the first letters of two words of the name."""
    return "".join(w[0] for w in org.split()[:2]).upper() if org else ""
