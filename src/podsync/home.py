"""The node's home directory: where its identity, config and store live.

Layout (all owner-only, mode 0700 for directories and 0600 for files)::

    HOME/
      identity/device.key   Ed25519 private key (PEM)
      identity/device.crt   self-signed certificate (PEM); device id = its hash
      identity/pod.secret   the pod secret (32 random bytes, hex)
      identity/device.checked  the hash of the key and certificate once checked as a pair
      config.json           member name, member id, pod id and name
      token                 the local API token (loopback clients present it)
      podsync.db            the SQLite document store (+ -wal, -shm)
      node.json             written by a running `podsync up`: pid, urls, listen

Every file here is written with :func:`atomic_write`: a temp file in the same
directory, fsync'd, renamed over the old one, then the directory fsync'd. A crash
leaves either the old file or the new one, never a torn mix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs

from podsync.errors import HomeError

HOME_ENV = "PODSYNC_HOME"
DIR_MODE = 0o700
FILE_MODE = 0o600


def default_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("podsync", appauthor=False))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves old or new, whole."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    """Parse a JSON file of the home; a corrupt one is a clear error, never a guess."""
    try:
        return json.loads(Path(path).read_bytes())
    except json.JSONDecodeError as exc:
        raise HomeError(f"{path} is corrupt ({exc.msg} at line {exc.lineno}); "
                        "restore it from a backup or move it away") from None


class Home:
    """Paths inside one node's home directory."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_home()

    @property
    def identity_dir(self) -> Path:
        return self.root / "identity"

    @property
    def key_path(self) -> Path:
        return self.identity_dir / "device.key"

    @property
    def cert_path(self) -> Path:
        return self.identity_dir / "device.crt"

    @property
    def checked_path(self) -> Path:
        return self.identity_dir / "device.checked"

    @property
    def pod_secret_path(self) -> Path:
        return self.identity_dir / "pod.secret"

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def token_path(self) -> Path:
        return self.root / "token"

    @property
    def db_path(self) -> Path:
        return self.root / "podsync.db"

    @property
    def node_file(self) -> Path:
        return self.root / "node.json"

    def is_initialised(self) -> bool:
        return self.config_path.exists() and self.cert_path.exists()

    def ensure_dirs(self) -> None:
        """Create the home and identity directories, owner-only."""
        try:
            for d in (self.root, self.identity_dir):
                d.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                os.chmod(d, DIR_MODE)
            probe = self.root / ".write-probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise HomeError(f"cannot write to home {self.root}: {exc.strerror or exc}") from None
