"""`podsync --version`, `init` and `status` through the real entry point."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from podsync import __version__
from podsync import ids
from podsync.trust.identity import device_id_from_cert_der

from cli_helpers import Podsync, assert_clean_failure, run_podsync

DEVICE_ID_FORM = re.compile(r"^[A-Z2-7]{13}(-[A-Z2-7]{13}){3}$")


def _status_json(podsync: Podsync) -> dict:
    result = podsync("status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # the whole of stdout is one JSON document


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_version() -> None:
    result = run_podsync("--version")
    assert result.returncode == 0
    assert result.stdout == f"podsync {__version__}\n"


def test_installed_script_runs_the_same_entry_point() -> None:
    script = shutil.which("podsync", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout == f"podsync {__version__}\n"


def test_init_then_status_json(podsync: Podsync, home_dir: Path) -> None:
    init = podsync("init", "--name", "Ada", "--pod-name", "Kitchen table")
    assert init.returncode == 0, init.stderr
    status = _status_json(podsync)

    der = x509.load_pem_x509_certificate((home_dir / "identity/device.crt").read_bytes()) \
        .public_bytes(serialization.Encoding.DER)
    assert status["device_id"] == device_id_from_cert_der(der)
    assert DEVICE_ID_FORM.match(status["device_id"])
    assert status["device_id"] in init.stdout
    assert ids.parse_document_id(status["member_id"]) != ids.parse_document_id(status["pod_id"])
    assert status["pod_name"] == "Kitchen table"
    assert status["member_name"] == "Ada"
    assert status["running"] is False
    assert status["listen"] == []
    assert status["api_url"] is None
    assert status["local_ws_url"] is None
    assert status["peers"] == []
    assert isinstance(status["documents"], list)
    for doc in status["documents"]:
        assert set(doc) >= {"url", "kind", "heads"}
        ids.parse_url(doc["url"])
        assert isinstance(doc["kind"], str)
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in doc["heads"])
    assert status["damaged_documents"] == []
    assert status["version"] == __version__


def test_status_without_json_is_readable(podsync: Podsync) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    device_id = _status_json(podsync)["device_id"]
    result = podsync("status")
    assert result.returncode == 0, result.stderr
    assert device_id in result.stdout
    assert "Ada's pod" in result.stdout
    assert "not running" in result.stdout


def test_init_twice_refuses_and_keeps_the_identity(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    cert = (home_dir / "identity/device.crt").read_bytes()
    config = (home_dir / "config.json").read_bytes()
    assert_clean_failure(podsync("init", "--name", "Bea"), 1, "already initialised")
    assert (home_dir / "identity/device.crt").read_bytes() == cert
    assert (home_dir / "config.json").read_bytes() == config


def test_init_into_a_path_under_a_file_fails_cleanly(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    result = run_podsync("--home", str(blocker / "home"), "init", "--name", "Ada")
    assert_clean_failure(result, 1, "cannot write to home", str(blocker / "home"))


def test_init_into_an_immutable_directory_fails_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "locked"
    home.mkdir()
    # Tests run as root, which ignores permission bits; the immutable flag binds root too.
    if subprocess.run(["chattr", "+i", str(home)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem")
    try:
        result = run_podsync("--home", str(home), "init", "--name", "Ada")
        assert_clean_failure(result, 1, "cannot write to home", str(home))
        assert list(home.iterdir()) == []
    finally:
        subprocess.run(["chattr", "-i", str(home)], check=True)


def test_init_refuses_a_directory_holding_other_files(tmp_path: Path) -> None:
    home = tmp_path / "somebodys-dir"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "notes.txt").write_text("mine\n")
    result = run_podsync("--home", str(home), "init", "--name", "Ada")
    assert_clean_failure(result, 1, "notes.txt", "--home")
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"]
    assert _mode(home) == 0o755


def test_status_on_an_uninitialised_home(podsync: Podsync, home_dir: Path) -> None:
    assert_clean_failure(podsync("status", "--json"), 1, "podsync init")
    assert not home_dir.exists()  # asking must not create anything


def test_podsync_home_environment_variable(tmp_path: Path) -> None:
    env = {"PODSYNC_HOME": str(tmp_path / "from-env")}
    assert run_podsync("init", "--name", "Ada", env=env).returncode == 0
    assert (tmp_path / "from-env" / "config.json").exists()
    status = run_podsync("status", "--json", env=env)
    assert json.loads(status.stdout)["member_name"] == "Ada"
    # --home wins over the environment.
    other = run_podsync("--home", str(tmp_path / "flag"), "status", env=env)
    assert_clean_failure(other, 1, "podsync init")


def test_home_is_owner_only_and_has_no_temp_files(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    assert _mode(home_dir) == 0o700
    assert _mode(home_dir / "identity") == 0o700
    for name in ("identity/device.key", "identity/device.crt", "identity/pod.secret",
                 "token", "config.json", "podsync.db"):
        assert _mode(home_dir / name) == 0o600, name
    leftovers = [p for p in home_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.parametrize("content", [
    b'{"member_name": "Ada", ',                      # torn JSON
    b'{"member_name": 3}',                           # wrong shape
    b'[]',
])
def test_corrupt_config_names_the_file(podsync: Podsync, home_dir: Path, content: bytes) -> None:
    assert podsync("init", "--name", "Ada").returncode == 0
    (home_dir / "config.json").write_bytes(content)
    assert_clean_failure(podsync("status", "--json"), 1, str(home_dir / "config.json"), "corrupt")
    assert (home_dir / "config.json").read_bytes() == content


def test_bad_usage_exits_2(podsync: Podsync, home_dir: Path) -> None:
    assert podsync("init").returncode == 2  # --name is required
    assert podsync("no-such-command").returncode == 2
    assert_clean_failure(podsync("init", "--name", "   "), 2, "member name")
    assert_clean_failure(podsync("init", "--name", "Ada", "--pod-name", "x" * 81), 2, "pod name")
    assert not home_dir.exists()
