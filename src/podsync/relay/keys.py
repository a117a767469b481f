"""The relay's keys: each device's encryption key, relay document ids, key wrapping.

- **A device's encryption key** is an X25519 key kept beside its identity
  (``HOME/identity/relay.key``). The Ed25519 signing key never doubles as a key
  agreement key; the public half goes into the pod document as a ``device.key``
  record signed by the device (:mod:`.directory`).
- **Relay document ids** come from the pod secret, which every member holds: a
  device's *index* document id is an HMAC of its device id, so members find
  each other's index documents and nobody else can tell whose they are.
  A device's *outbox* documents have random ids, named only inside its index
  document, sealed under the pod's current epoch key.
- **Wrapping** a content key to some devices: one ephemeral X25519 key per
  message, one AEAD-wrapped copy per recipient, shuffled and padded; a recipient
  tries each copy. Nothing in a wrapped message says who it is for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from podsync.errors import HomeError
from podsync.home import Home, atomic_write
from podsync.ids import document_id_from_bytes

KEY_BYTES = 32
NONCE_BYTES = 12
#: AEAD tag added to every ciphertext (ChaCha20-Poly1305).
TAG_BYTES = 16
WRAPPED_BYTES = KEY_BYTES + TAG_BYTES
#: Wrapped copies come in multiples of this, so a sealed message tells the
#: relay and members who are not readers only roughly how many devices read it.
WRAP_PAD = 4
#: Recipients one message is wrapped to: every device of a 50-member pod with a
#: few devices each, with room; a message listing more is not trial-decrypted.
MAX_WRAPS = 512
#: A key's id: enough bits that two epochs of one pod never share one.
KEY_ID_BYTES = 8
_ZERO_NONCE = bytes(NONCE_BYTES)


def load_device_key(home: Home) -> X25519PrivateKey | None:
    """This device's X25519 key, or None when it has none yet."""
    path = home.identity_dir / "relay.key"
    try:
        text = path.read_text("ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise HomeError(f"cannot read {path}: {exc}") from None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != KEY_BYTES:
        raise HomeError(f"{path} is corrupt (expected {KEY_BYTES} bytes as hex); move it away "
                        "and restart: the node makes a new key and other devices re-seal to it")
    return X25519PrivateKey.from_private_bytes(raw)


def new_device_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def save_device_key(home: Home, key: X25519PrivateKey) -> None:
    """Keep ``key`` beside the identity (owner-only, written atomically)."""
    atomic_write(home.identity_dir / "relay.key", (private_bytes(key).hex() + "\n").encode("ascii"))


def private_bytes(key: X25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def public_bytes(key: X25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def hkdf(ikm: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(ikm)


def index_doc_id(pod_secret: bytes, pod_id: str, device_id: str) -> str:
    """The relay document where ``device_id`` says where its outbox is."""
    key = hkdf(pod_secret, b"podsync-relay-index\x00" + pod_id.encode())
    digest = hmac.new(key, device_id.encode(), hashlib.sha256).digest()
    return document_id_from_bytes(digest[:16])


def bootstrap_key(pod_secret: bytes, pod_id: str) -> bytes:
    """Seals the epoch keys a device hands on in its index document: members who
    missed a new epoch record learn the key there (only the recipients of each
    wrapped copy can open it)."""
    return hkdf(pod_secret, b"podsync-relay-bootstrap\x00" + pod_id.encode())


def key_id(key: bytes) -> str:
    return hmac.new(key, b"podsync-relay-key-id", hashlib.sha256).digest()[:KEY_ID_BYTES].hex()


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def seal(key: bytes, plaintext: bytes, ad: bytes) -> tuple[bytes, bytes]:
    """(nonce, ciphertext) under ``key``. Random nonces are safe here: a key
    seals far fewer than the 2**32 messages where 96-bit nonces start to risk
    repeating (epoch keys change with membership, other keys seal one message)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce, ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


def open_sealed(key: bytes, nonce: bytes, ciphertext: bytes, ad: bytes) -> bytes | None:
    """The plaintext, or None when the key is wrong or anything was altered."""
    if len(key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
        return None
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, ad)
    except InvalidTag:
        return None


def wrap(content_key: bytes, recipients: list[bytes], ad: bytes) -> tuple[bytes, list[bytes]]:
    """Wrap ``content_key`` to each X25519 public key in ``recipients``: (the
    ephemeral public key, the wrapped copies, shuffled and padded)."""
    ephemeral = X25519PrivateKey.generate()
    eph_pub = public_bytes(ephemeral)
    wraps = []
    for pub in recipients:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(pub))
        wraps.append(ChaCha20Poly1305(_wrap_key(shared, eph_pub, pub)).encrypt(
            _ZERO_NONCE, content_key, ad))
    while len(wraps) % WRAP_PAD or not wraps:
        wraps.append(secrets.token_bytes(WRAPPED_BYTES))
    secrets.SystemRandom().shuffle(wraps)
    return eph_pub, wraps


def unwrap(private: X25519PrivateKey, eph_pub: bytes, wraps: list[bytes], ad: bytes) -> bytes | None:
    """The content key if one of ``wraps`` is for this device's key, else None."""
    if len(eph_pub) != KEY_BYTES or len(wraps) > MAX_WRAPS:
        return None
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError:
        return None  # a low-order point: nothing was wrapped to us with it
    aead = ChaCha20Poly1305(_wrap_key(shared, eph_pub, public_bytes(private)))
    for wrapped in wraps:
        if not isinstance(wrapped, bytes) or len(wrapped) != WRAPPED_BYTES:
            continue
        try:
            return aead.decrypt(_ZERO_NONCE, wrapped, ad)
        except InvalidTag:
            continue
    return None


def _wrap_key(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    # The key depends on both public keys, so each wrapped copy has its own key
    # and the all-zero nonce is used once per key.
    return hkdf(shared, b"podsync-relay-wrap", salt=eph_pub + recipient_pub)
