"""Device identity: key, certificate, device id, and the secrets kept beside them."""

from __future__ import annotations

import asyncio
import re
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from podsync.errors import HomeError, InvalidId, NotInitialised
from podsync.home import Home
from podsync.records.verify import Signer
from podsync.trust import identity as ident

DEVICE_ID_FORM = re.compile(r"^[A-Z2-7]{13}(-[A-Z2-7]{13}){3}$")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    h = Home(tmp_path / "home")
    h.ensure_dirs()
    return h


def _another_device(tmp_path: Path) -> tuple[Home, ident.DeviceIdentity]:
    other = Home(tmp_path / "other")
    other.ensure_dirs()
    return other, ident.create_identity(other)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_device_id_vector() -> None:
    # base32(SHA-256(b"podsync")) = 6YPERVPWFZRP6JTFPUANAR2JP4B5LSIXGXGQ27M5I5O4GDROH2DQ====
    assert ident.device_id_from_cert_der(b"podsync") == (
        "6YPERVPWFZRP6-JTFPUANAR2JP4-B5LSIXGXGQ27M-5I5O4GDROH2DQ")


def test_create_then_load_gives_the_same_identity(home: Home) -> None:
    created = ident.create_identity(home)
    loaded = ident.load_identity(home)
    assert loaded == created
    assert DEVICE_ID_FORM.match(created.device_id)
    der = x509.load_pem_x509_certificate(home.cert_path.read_bytes()).public_bytes(
        serialization.Encoding.DER)
    assert der == created.cert_der
    assert created.device_id == ident.device_id_from_cert_der(der)


def test_certificate_is_long_lived_ed25519_and_self_signed(home: Home) -> None:
    created = ident.create_identity(home)
    cert = x509.load_der_x509_certificate(created.cert_der)
    assert isinstance(cert.public_key(), Ed25519PublicKey)
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert life.days >= 20 * 365


def test_every_identity_is_new(home: Home, tmp_path: Path) -> None:
    other = Home(tmp_path / "other")
    other.ensure_dirs()
    assert ident.create_identity(home).device_id != ident.create_identity(other).device_id


def test_files_are_owner_only_and_no_temp_files_remain(home: Home) -> None:
    ident.create_identity(home)
    ident.create_pod_secret(home)
    ident.create_api_token(home)
    for path in (home.key_path, home.cert_path, home.checked_path, home.pod_secret_path,
                 home.token_path):
        assert _mode(path) == 0o600, path
    assert sorted(p.name for p in home.identity_dir.iterdir()) == [
        "device.checked", "device.crt", "device.key", "pod.secret"]
    assert sorted(p.name for p in home.root.iterdir()) == ["identity", "token"]


def test_missing_identity_is_not_initialised(home: Home) -> None:
    with pytest.raises(NotInitialised, match="podsync init"):
        ident.load_identity(home)


def test_corrupt_certificate_is_named(home: Home) -> None:
    ident.create_identity(home)
    home.cert_path.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    with pytest.raises(HomeError, match=re.escape(str(home.cert_path))):
        ident.load_identity(home)


def test_key_of_another_device_is_refused(home: Home, tmp_path: Path) -> None:
    ident.create_identity(home)
    other, _ = _another_device(tmp_path)
    home.key_path.write_bytes(other.key_path.read_bytes())
    with pytest.raises(HomeError, match="is not the key of"):
        ident.load_identity(home)


#: Loads the identity of the home given and prints its device id, then whether the
#: X.509 machinery was imported for it.
LOAD_PROBE = """
import sys
from podsync.home import Home
from podsync.trust.identity import load_identity
print(load_identity(Home(sys.argv[1])).device_id)
print(any(m == "cryptography.x509" or m.startswith("cryptography.hazmat") for m in sys.modules))
"""


def _load_in_fresh_process(home: Home) -> tuple[str, bool]:
    done = subprocess.run([sys.executable, "-c", LOAD_PROBE, str(home.root)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    device_id, parsed = done.stdout.split()
    return device_id, parsed == "True"


def test_a_checked_pair_loads_without_parsing(home: Home) -> None:
    made = ident.create_identity(home)
    assert _load_in_fresh_process(home) == (made.device_id, False)
    # Without the note, the pair is checked again (parsed), and the note comes back.
    home.checked_path.unlink()
    assert _load_in_fresh_process(home) == (made.device_id, True)
    assert home.checked_path.exists()
    assert _load_in_fresh_process(home) == (made.device_id, False)


def test_a_note_for_other_files_is_not_believed(home: Home, tmp_path: Path) -> None:
    ident.create_identity(home)
    other, theirs = _another_device(tmp_path)
    # The other device's key and certificate, together: a true pair, checked anew.
    home.key_path.write_bytes(other.key_path.read_bytes())
    home.cert_path.write_bytes(other.cert_path.read_bytes())
    assert _load_in_fresh_process(home) == (theirs.device_id, True)
    # Their note beside our files (or any text) stands for nothing here.
    ident.create_identity(home)
    home.checked_path.write_bytes(other.checked_path.read_bytes())
    home.key_path.write_bytes(other.key_path.read_bytes())
    with pytest.raises(HomeError, match="is not the key of"):
        ident.load_identity(home)
    home.checked_path.write_text("not a digest\n")
    with pytest.raises(HomeError, match="is not the key of"):
        ident.load_identity(home)


def test_a_certificate_changed_after_the_check_is_checked_again(home: Home) -> None:
    ident.create_identity(home)
    pem = home.cert_path.read_text()
    lines = pem.splitlines()
    # One base64 letter changed in the body: still base64, no longer the certificate.
    body = lines[3]
    lines[3] = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    home.cert_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HomeError, match=re.escape(str(home.cert_path))):
        ident.load_identity(home)


def test_signing_checks_the_pair_even_with_a_note(home: Home, tmp_path: Path) -> None:
    ident.create_identity(home)
    other, _ = _another_device(tmp_path)
    identity = ident.load_identity(home)
    home.key_path.write_bytes(other.key_path.read_bytes())
    # A note made to fit the mismatched files: the id is read from the certificate,
    # but the key is checked before it signs anything.
    home.checked_path.write_text(ident._pair_digest(home.cert_path.read_bytes(),
                                                    home.key_path.read_bytes()) + "\n")
    assert ident.load_identity(home).device_id == identity.device_id
    signer = Signer.loading(lambda: ident.load_signing_key(home), identity.device_id)
    with pytest.raises(HomeError, match="is not the key of"):
        signer.sign(b"a record")


def test_pod_secret_and_token(home: Home) -> None:
    secret = ident.create_pod_secret(home)
    assert ident.load_pod_secret(home) == bytes.fromhex(secret)
    assert len(bytes.fromhex(secret)) == ident.POD_SECRET_BYTES
    token = ident.create_api_token(home)
    assert ident.load_api_token(home) == token
    assert ident.create_api_token(home) != token
    home.pod_secret_path.write_text("abcd\n")
    with pytest.raises(HomeError, match="corrupt"):
        ident.load_pod_secret(home)


@pytest.mark.parametrize("typed", [
    "6yperVPWFZRP6JTFPUANAR2JP4B5LSIXGXGQ27M5I5O4GDROH2DQ",
    " 6YPERVPWFZRP6 JTFPUANAR2JP4 B5LSIXGXGQ27M 5I5O4GDROH2DQ ",
    "6YPERVPWFZRP6-JTFPUANAR2JP4-B5LSIXGXGQ27M-5I5O4GDROH2DQ",
])
def test_parse_device_id_normalises(typed: str) -> None:
    assert ident.parse_device_id(typed) == "6YPERVPWFZRP6-JTFPUANAR2JP4-B5LSIXGXGQ27M-5I5O4GDROH2DQ"


@pytest.mark.parametrize("bad", [
    "",
    "6YPERVPWFZRP6-JTFPUANAR2JP4-B5LSIXGXGQ27M-5I5O4GDROH2D",  # one short
    "6YPERVPWFZRP6-JTFPUANAR2JP4-B5LSIXGXGQ27M-5I5O4GDROH2D1",  # '1' is not base32
    "6YPERVPWFZRP6-JTFPUANAR2JP4-B5LSIXGXGQ27M-5I5O4GDROH2DR",  # low bits set
])
def test_parse_device_id_refuses(bad: str) -> None:
    with pytest.raises(InvalidId):
        ident.parse_device_id(bad)


def _server_context(me: ident.DeviceIdentity, roster: list[ident.DeviceIdentity]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(me.cert_path, me.key_path)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.load_verify_locations(cadata="".join(ssl.DER_cert_to_PEM_cert(d.cert_der) for d in roster))
    return ctx


def _client_context(me: ident.DeviceIdentity, server: ident.DeviceIdentity) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.load_cert_chain(me.cert_path, me.key_path)
    ctx.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(server.cert_der))
    return ctx


async def test_certificates_pin_both_ends_of_a_tls_link(tmp_path: Path) -> None:
    homes = [Home(tmp_path / n) for n in ("server", "member", "stranger")]
    for h in homes:
        h.ensure_dirs()
    server, member, stranger = (ident.create_identity(h) for h in homes)
    seen_by_server: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        seen_by_server.append(ident.device_id_from_cert_der(der))
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=_server_context(server, [member]))
    port = srv.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=_client_context(member, server))
        assert await reader.readline() == b"hello\n"
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        assert ident.device_id_from_cert_der(der) == server.device_id
        writer.close()
        assert seen_by_server == [member.device_id]

        # A device the server's roster does not list cannot complete a link.
        with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=_client_context(stranger, server))
            await reader.readexactly(6)
        # And a client pinned to another certificate refuses this server.
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=_client_context(member, stranger))
        assert seen_by_server == [member.device_id]
    finally:
        srv.close()
        await srv.wait_closed()
