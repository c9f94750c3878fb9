"""Photo pipeline (``media.ingest``) and content-addressed storage (``media.store``).

A library the backend calls; it imports neither ``backend`` nor ``pwa``. Call the pipeline as
``from media.ingest import ingest``: re-exporting that function here would shadow the ``media.ingest`` module.
"""

from media.errors import CorruptImage, EmptyFile, ImageTooLarge, MediaError, UnsupportedMedia
from media.ingest import IngestResult, Variant, heic_supported, sniff
from media.store import GcReport, MediaStore

__all__ = [
    "CorruptImage",
    "EmptyFile",
    "GcReport",
    "ImageTooLarge",
    "IngestResult",
    "MediaError",
    "MediaStore",
    "UnsupportedMedia",
    "Variant",
    "heic_supported",
    "sniff",
]
