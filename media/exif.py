"""The few EXIF facts worth keeping as database fields: orientation, capture time and GPS position.

The stored variants carry no metadata at all, so whatever the caller wants from EXIF must be read here, from
the uploaded file, before any derived image is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from PIL import ExifTags, Image

_ORIENTATION = 0x0112
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_OFFSET_TIME_ORIGINAL = 0x9011
_OFFSET_TIME_DIGITIZED = 0x9012
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_TIME, _GPS_STATUS, _GPS_DATE = 7, 9, 29


@dataclass(frozen=True)
class PhotoMetadata:
    """EXIF facts read from the original upload; every field is optional because phones strip them freely."""

    orientation: int = 1
    taken_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


def read_metadata(im: Image.Image, *, exif_tz: tzinfo = UTC) -> PhotoMetadata:
    """Read orientation, capture time (aware, UTC) and signed GPS degrees; broken EXIF yields ``None`` fields.

    ``exif_tz`` is the zone assumed for a capture time written without an offset (cameras write wall time).
    Each part is read separately so a damaged GPS block does not cost the capture time.
    """
    try:
        exif = im.getexif()
    except Exception:
        return PhotoMetadata()
    orientation = _guarded(lambda: _orientation(exif), 1)
    latitude, longitude = _guarded(lambda: _position(exif), (None, None))
    taken_at = _guarded(lambda: _taken_at(exif, exif_tz), None)
    return PhotoMetadata(orientation, taken_at, latitude, longitude)


def _guarded(read: Any, default: Any) -> Any:
    try:
        return read()
    except Exception:
        return default


def _orientation(exif: Image.Exif) -> int:
    value = int(exif.get(_ORIENTATION, 1))
    return value if 1 <= value <= 8 else 1


def _taken_at(exif: Image.Exif, exif_tz: tzinfo) -> datetime | None:
    """DateTimeOriginal with its offset; else the GPS stamp (always UTC); else the original in ``exif_tz``."""
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    local, offset = sub.get(_DATETIME_ORIGINAL), sub.get(_OFFSET_TIME_ORIGINAL)
    if local is None:
        local, offset = sub.get(_DATETIME_DIGITIZED), sub.get(_OFFSET_TIME_DIGITIZED)
    wall = _parse_exif_datetime(local)
    zone = _parse_offset(offset)
    if wall is not None and zone is not None:
        return wall.replace(tzinfo=zone).astimezone(UTC)
    gps_time = _gps_datetime(exif.get_ifd(ExifTags.IFD.GPSInfo))
    if gps_time is not None:
        return gps_time
    if wall is not None:
        return wall.replace(tzinfo=exif_tz).astimezone(UTC)
    return None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 \t")


def _parse_exif_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(_text(value)[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _parse_offset(value: Any) -> timezone | None:
    """Parse an EXIF OffsetTime such as ``+08:00``."""
    text = _text(value) if value is not None else ""
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    minutes = int(text[1:3]) * 60 + int(text[4:6])
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _gps_datetime(gps: dict[int, Any]) -> datetime | None:
    date, time = gps.get(_GPS_DATE), gps.get(_GPS_TIME)
    if date is None or time is None or len(time) != 3:
        return None
    day = datetime.strptime(_text(date)[:10], "%Y:%m:%d")
    seconds = float(time[0]) * 3600 + float(time[1]) * 60 + float(time[2])
    if not math.isfinite(seconds):
        return None
    return (day + timedelta(seconds=round(seconds))).replace(tzinfo=UTC)


def _position(exif: Image.Exif) -> tuple[float | None, float | None]:
    """Signed decimal degrees; (0, 0) and void fixes are what receivers write when they have no position."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if not gps or _text(gps.get(_GPS_STATUS, "A")).upper() == "V":
        return None, None
    latitude = _degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "S")
    longitude = _degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "W")
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        return None, None
    if latitude == 0 and longitude == 0:
        return None, None
    return latitude, longitude


def _degrees(dms: Any, ref: Any, negative_ref: str) -> float | None:
    if dms is None:
        return None
    parts = [float(part) for part in (dms if isinstance(dms, tuple | list) else (dms,))][:3]
    value = sum(part / 60.0**index for index, part in enumerate(parts))
    if not math.isfinite(value):
        return None
    sign = -1 if ref is not None and _text(ref).upper() == negative_ref else 1
    return round(sign * value, 7)
