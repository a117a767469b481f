"""This device's identity: an Ed25519 key, its self-signed certificate, its id.

The device id is derived from the certificate the way Syncthing derives its
device ids: SHA-256 of the DER certificate, base32 (RFC 4648 alphabet, upper case,
no padding), 52 characters shown as four groups of 13 joined by ``-``. Whoever
holds the certificate can check the id; nobody can pick a certificate for a given
id. Peer links are TLS with both certificates pinned to the roster, so the id a
peer claims is the hash of the certificate it actually presented.

The node also keeps two secrets next to the identity: the pod secret (shared by
the pod's members) and the local API token (presented by loopback clients, as
Jupyter's token is). All of them are written atomically, owner-only.

Loading the identity checks that the key is the certificate's. That check needs
the X.509 machinery, whose import alone costs a read command more than the
command's own work, so once it has passed the home keeps a note of it
(``device.checked``: the hash of both files as they were checked). A command
that finds the note true of both files reads the device id from the certificate
without parsing it; any change to either file makes the note stale, and the next
load checks again. Signing loads the key, and checks the pair again, only when
something is signed.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from podsync.errors import HomeError, InvalidId, NotInitialised
from podsync.home import Home, atomic_write

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# A device keeps its certificate for its whole life: the id is the certificate's
# hash, so renewing it would make the device a stranger to its pod. Syncthing
# issues its device certificates for 20 years for the same reason.
CERT_VALIDITY = datetime.timedelta(days=20 * 365)
# Start validity a day early so a peer whose clock runs behind still accepts it.
CERT_BACKDATE = datetime.timedelta(days=1)
CERT_COMMON_NAME = "podsync device"

DEVICE_ID_CHARS = 52  # base32 of a 32-byte SHA-256, unpadded
DEVICE_ID_GROUP = 13  # 4 groups of 13, easy to read aloud and compare
POD_SECRET_BYTES = 32
API_TOKEN_BYTES = 32
_BASE32 = re.compile(r"^[A-Z2-7]+$")


class DeviceIdentity(msgspec.Struct, frozen=True):
    """Where this device's key and certificate live, and who they make it."""

    key_path: Path
    cert_path: Path
    cert_der: bytes
    device_id: str


def device_id_from_cert_der(der: bytes) -> str:
    """The device id of the certificate whose DER encoding is ``der``."""
    return device_id_from_digest(hashlib.sha256(der).digest())


def device_id_from_digest(digest: bytes) -> str:
    """The device id of a certificate whose SHA-256 is ``digest`` (a certificate
    pin, as invite codes carry it)."""
    raw = base64.b32encode(digest).decode("ascii").rstrip("=")
    return "-".join(raw[i:i + DEVICE_ID_GROUP] for i in range(0, len(raw), DEVICE_ID_GROUP))


def parse_device_id(text: str) -> str:
    """Normalise a device id typed by a person (any case, with or without dashes
    or spaces) to its canonical grouped form; raises :class:`InvalidId`."""
    if not isinstance(text, str):
        raise InvalidId(f"not a device id: {text!r}")
    raw = re.sub(r"[\s-]", "", text).upper()
    if len(raw) != DEVICE_ID_CHARS or not _BASE32.match(raw):
        raise InvalidId(f"not a device id (expected {DEVICE_ID_CHARS} base32 characters): {text!r}")
    # 52 characters carry 260 bits; a real id's last 4 are zero, so re-encoding
    # the 32 bytes must give the same text back.
    if base64.b32encode(base64.b32decode(raw + "====")).decode("ascii").rstrip("=") != raw:
        raise InvalidId(f"not a device id (its last character cannot end one): {text!r}")
    return "-".join(raw[i:i + DEVICE_ID_GROUP] for i in range(0, len(raw), DEVICE_ID_GROUP))


def _write(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise HomeError(f"cannot write {path}: {exc.strerror or exc}") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotInitialised(f"{path} is missing; run `podsync init --name NAME` to create "
                             "this device's identity") from None
    except OSError as exc:
        raise HomeError(f"cannot read {path}: {exc.strerror or exc}") from None


def _self_signed_certificate(key: Ed25519PrivateKey) -> x509.Certificate:
    from cryptography import x509  # noqa: PLC0415 - see the module docstring
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: PLC0415

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_COMMON_NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CERT_BACKDATE)
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        # Every link is mutual TLS: the same certificate serves as server and client.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        # Ed25519 signs the whole message itself; it takes no separate digest.
        .sign(key, None)
    )


def new_device_key() -> tuple[Ed25519PrivateKey, bytes]:
    """A fresh device key and its self-signed certificate (DER), in memory."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    key = Ed25519PrivateKey.generate()
    cert = _self_signed_certificate(key)
    return key, cert.public_bytes(serialization.Encoding.DER)


def create_identity(home: Home) -> DeviceIdentity:
    """Make a fresh device key and certificate in ``home``, replacing any there."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    key = Ed25519PrivateKey.generate()
    cert = _self_signed_certificate(key)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),  # the file is owner-only, as ssh and Syncthing keep theirs
    )
    # The key first: a certificate on disk must always have its key beside it.
    _write(home.key_path, key_pem)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    _write(home.cert_path, cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    _note_checked(home, cert_pem, key_pem, der)
    return DeviceIdentity(home.key_path, home.cert_path, der, device_id_from_cert_der(der))


def load_identity(home: Home) -> DeviceIdentity:
    """This device's identity from ``home``; checks the key belongs to the certificate
    (or finds the note that it was checked, for these very files)."""
    cert_pem = _read(home.cert_path)
    key_pem = _read(home.key_path)
    der = _checked_der(home, cert_pem, key_pem)
    if der is None:
        return _load(home, cert_pem, key_pem)[0]
    return DeviceIdentity(home.key_path, home.cert_path, der, device_id_from_cert_der(der))


def load_signing_key(home: Home) -> Ed25519PrivateKey:
    """This device's private key, for signing records (checked against its certificate)."""
    return _load(home, _read(home.cert_path), _read(home.key_path))[1]


def _load(home: Home, cert_pem: bytes, key_pem: bytes) -> tuple[DeviceIdentity, Ed25519PrivateKey]:
    from cryptography import x509  # noqa: PLC0415 - see the module docstring
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise HomeError(f"{home.cert_path} is not a valid certificate; restore the identity "
                        "directory from a backup") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise HomeError(f"{home.key_path} is not a valid private key; restore the identity "
                        "directory from a backup") from None
    raw = serialization.Encoding.Raw
    if not isinstance(key, Ed25519PrivateKey) or (
        key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        != cert.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    ):
        raise HomeError(f"{home.key_path} is not the key of {home.cert_path}; restore the "
                        "identity directory from a backup")
    der = cert.public_bytes(serialization.Encoding.DER)
    _note_checked(home, cert_pem, key_pem, der)
    return DeviceIdentity(home.key_path, home.cert_path, der, device_id_from_cert_der(der)), key


def _pair_digest(cert_pem: bytes, key_pem: bytes) -> str:
    """What the check note says: the hash of both files, as checked."""
    digest = hashlib.sha256(len(cert_pem).to_bytes(8, "big") + cert_pem + key_pem)
    return digest.hexdigest()


def _pem_der(cert_pem: bytes) -> bytes | None:
    """The DER inside a one-certificate PEM file, read without parsing it (the
    note is kept only where this reads back what the full check parsed)."""
    import ssl  # noqa: PLC0415 - every command has it loaded already (asyncio, http.client)

    try:
        return ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


def _checked_der(home: Home, cert_pem: bytes, key_pem: bytes) -> bytes | None:
    """The certificate's DER when the note says these files were checked; else None."""
    try:
        note = home.checked_path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(note, _pair_digest(cert_pem, key_pem)):
        return None
    return _pem_der(cert_pem)


def _note_checked(home: Home, cert_pem: bytes, key_pem: bytes, der: bytes) -> None:
    """Keep the note that these files were checked, when it can stand for them:
    the certificate's DER must read back from its PEM as the check parsed it."""
    if _pem_der(cert_pem) != der:
        return
    digest = _pair_digest(cert_pem, key_pem)
    try:
        if home.checked_path.read_text("ascii").strip() == digest:
            return
    except (OSError, UnicodeDecodeError):
        pass
    try:
        atomic_write(home.checked_path, (digest + "\n").encode("ascii"))
    except OSError:
        pass  # a read-only home checks every time; nothing is lost


def create_pod_secret(home: Home) -> str:
    """A fresh pod secret (hex), for a member founding a new pod."""
    secret = secrets.token_bytes(POD_SECRET_BYTES).hex()
    _write(home.pod_secret_path, (secret + "\n").encode("ascii"))
    return secret


def load_pod_secret(home: Home) -> bytes:
    text = _read(home.pod_secret_path).decode("ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != POD_SECRET_BYTES:
        raise HomeError(f"{home.pod_secret_path} is corrupt (expected {POD_SECRET_BYTES} bytes "
                        "as hex); restore it from a backup")
    return secret


def create_api_token(home: Home) -> str:
    """A fresh token for the local API; loopback clients must present it."""
    token = secrets.token_urlsafe(API_TOKEN_BYTES)
    _write(home.token_path, (token + "\n").encode("ascii"))
    return token


def load_api_token(home: Home) -> str:
    token = _read(home.token_path).decode("ascii", errors="replace").strip()
    if not token:
        raise HomeError(f"{home.token_path} is empty; run `podsync init` on a fresh home or "
                        "restore it from a backup")
    return token
