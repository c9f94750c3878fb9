"""Reads a multipart/form-data photo upload from the request body stream, refusing it as soon as it is too big.

The body is pulled chunk by chunk from the ASGI stream and fed to a push parser, with a running byte count:
an oversize upload is answered with 413 after at most the limit (plus one chunk) has been read, and at once
when `Content-Length` already announces too much. Nothing here knows HTTP frameworks; it takes any async
iterator of byte chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    ParserLimitReached,
    PushMultipartParser,
    parse_options_header,
)

from backend.errors import BadRequest, Invalid, TooLarge, UnsupportedMediaType

FILE_FIELD = "file"
FORM_OVERHEAD = 64 * 1024
"""Body bytes allowed beyond the file itself: boundaries, part headers and the small text fields."""
MAX_TEXT_FIELD = 256
MAX_PARTS = 16


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None
    filename: str | None = None
    body_bytes: int = 0


def megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"The photo is larger than {megabytes(limit)}.", field=FILE_FIELD)


def boundary_of(content_type: str) -> str:
    mime, options = parse_options_header(content_type or "")
    if mime != "multipart/form-data":
        raise UnsupportedMediaType("Send the photo as multipart/form-data.")
    boundary: str = options.get("boundary", "")
    if not boundary:
        raise BadRequest("The multipart boundary is missing from Content-Type.")
    return boundary


async def read_upload(
    chunks: AsyncIterator[bytes], *, content_type: str, content_length: int | None, max_file_bytes: int
) -> UploadForm:
    """Parse the form while it streams in: text fields (each ≤ 256 bytes) and one `file` part (≤ the limit)."""
    max_body = max_file_bytes + FORM_OVERHEAD
    if content_length is not None and content_length > max_body:
        raise _too_large(max_file_bytes)
    parser = PushMultipartParser(boundary_of(content_type), max_segment_count=MAX_PARTS)
    form = UploadForm()
    segment: MultipartSegment | None = None
    buffer = bytearray()
    try:
        with parser:
            async for chunk in chunks:
                if not chunk:
                    continue
                form.body_bytes += len(chunk)
                if form.body_bytes > max_body:
                    raise _too_large(max_file_bytes)
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        segment, buffer = event, bytearray()
                        _check_new_part(form, segment)
                    elif event:
                        assert segment is not None
                        buffer += event
                        _check_part_size(segment, len(buffer), max_file_bytes)
                    elif segment is not None:
                        _finish_part(form, segment, buffer)
                        segment, buffer = None, bytearray()
                if parser.closed:
                    break
    except ParserLimitReached:
        raise BadRequest(f"The upload has too many parts (at most {MAX_PARTS}) or too long part headers.") from None
    except MultipartError as exc:
        raise BadRequest(f"The upload is not valid multipart/form-data ({exc}).") from None
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    return form


def _check_new_part(form: UploadForm, segment: MultipartSegment) -> None:
    name = segment.name or ""
    if not name:
        raise BadRequest("Every form part needs a name.")
    if name in form.fields or (name == FILE_FIELD and form.file is not None):
        raise Invalid(f"{name} was sent twice; send one photo per upload.", field=name)


def _check_part_size(segment: MultipartSegment, size: int, max_file_bytes: int) -> None:
    if segment.name == FILE_FIELD:
        if size > max_file_bytes:
            raise _too_large(max_file_bytes)
    elif size > MAX_TEXT_FIELD:
        raise Invalid(f"{segment.name} is too long.", field=segment.name)


def _finish_part(form: UploadForm, segment: MultipartSegment, data: bytearray) -> None:
    name = segment.name or ""
    if name == FILE_FIELD:
        form.file, form.filename = bytes(data), segment.filename
        return
    try:
        form.fields[name] = data.decode(segment.charset or "utf-8").strip()
    except (UnicodeDecodeError, LookupError):
        raise Invalid(f"{name} is not valid text.", field=name) from None
