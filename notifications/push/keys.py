"""VAPID keys: from settings, or generated once into the data directory (0600) and reused after.

Accepted forms for the private key: the base64url raw 32-byte scalar that `web-push generate-vapid-keys` prints,
or a PEM. The public key is the base64url uncompressed point (what the browser takes as `applicationServerKey`);
it is derived from the private key when not given, and must match it when it is.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_FILE = "vapid_private_key.pem"
EMAIL = re.compile(r"^[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+$")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM or base64url raw scalar; ValueError says what is wrong."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.replace("\\n", "\n").encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the PEM key is not a P-256 (prime256v1) EC key")
        return key
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise ValueError("not base64url and not PEM") from None
    if len(raw) != 32:
        raise ValueError(f"a raw VAPID private key has 32 bytes, this one {len(raw)}")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def parse_public_key(text: str) -> bytes:
    """The 65-byte uncompressed P-256 point from its base64url form (checked to lie on the curve)."""
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise ValueError("not base64url") from None
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("a VAPID public key is a 65-byte uncompressed P-256 point, base64url encoded")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    return raw


def check_subject(subject: str) -> str:
    """The VAPID contact as an e-mail address (a leading `mailto:` is dropped); ValueError otherwise."""
    address = subject.strip().removeprefix("mailto:")
    if not EMAIL.match(address):
        raise ValueError(f"must be an e-mail address, got {subject!r}")
    return address


@dataclass(frozen=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    public_raw: bytes

    @property
    def application_server_key(self) -> str:
        return b64url_encode(self.public_raw)

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_private(cls, key: ec.EllipticCurvePrivateKey) -> VapidKeys:
        raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return cls(private_key=key, public_raw=raw)

    @classmethod
    def generate(cls) -> VapidKeys:
        return cls.from_private(ec.generate_private_key(ec.SECP256R1()))


def keys_from_text(private_text: str, public_text: str = "") -> VapidKeys:
    keys = VapidKeys.from_private(parse_private_key(private_text))
    if public_text and parse_public_key(public_text) != keys.public_raw:
        raise ValueError("IPMS_VAPID_PUBLIC_KEY does not belong to IPMS_VAPID_PRIVATE_KEY")
    return keys


def load_or_create_keys(data_dir: Path, private_text: str = "", public_text: str = "") -> VapidKeys:
    """Keys from settings when given; otherwise the data directory's key file, made on first use.

    Several workers may start at once: each writes a private temp file and links it into place, which fails
    for all but the first, and then everyone reads the winner's file.
    """
    if private_text:
        return keys_from_text(private_text, public_text)
    if public_text:
        raise ValueError("IPMS_VAPID_PUBLIC_KEY is set without IPMS_VAPID_PRIVATE_KEY")
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=data_dir, prefix=".vapid-")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(VapidKeys.generate().private_pem)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(temp)
    return VapidKeys.from_private(parse_private_key(path.read_text()))
