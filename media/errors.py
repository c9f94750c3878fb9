"""Errors raised by the media library.

Each carries a stable ``code`` (for the JSON error body) and a human ``message``, so the HTTP layer can map
them without knowing Pillow.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class: an upload the pipeline refuses, with a reason the user can act on."""

    code = "media_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedMedia(MediaError):
    """The bytes are not a JPEG, PNG, WebP (or HEIC when the plugin is installed)."""

    code = "unsupported_media_type"


class ImageTooLarge(MediaError):
    """The header declares more pixels than we agree to decode (decompression-bomb guard)."""

    code = "image_too_large"


class CorruptImage(MediaError):
    """The header looked right but the file could not be read or decoded (truncated, damaged)."""

    code = "corrupt_image"


class EmptyFile(CorruptImage):
    """Zero bytes: usually a failed capture or an interrupted upload, worth telling apart."""

    code = "empty_file"
