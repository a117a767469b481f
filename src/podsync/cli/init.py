"""``podsync init``: this device's identity and a new pod with one member."""

from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING

import msgspec
import typer

from podsync import config as config_mod
from podsync.cli.context import escape, home_of, out
from podsync.errors import AlreadyInitialised, HomeError
from podsync.home import FILE_MODE, Home

if TYPE_CHECKING:
    from podsync.trust.identity import DeviceIdentity

# What podsync itself keeps in a home. A directory holding anything else is
# somebody else's (``--home ~`` by mistake): init refuses rather than tighten its
# permissions and scatter files in it. Dot-files are atomic writes' temp files.
_HOME_ENTRIES = frozenset({
    "identity", "config.json", "token", "node.json", "last-error.log",
    "podsync.db", "podsync.db-wal", "podsync.db-shm", "podsync.db-journal",
})


def _check_home_is_ours(home: Home) -> None:
    if not home.root.is_dir():
        return
    try:
        foreign = sorted(p.name for p in home.root.iterdir()
                         if p.name not in _HOME_ENTRIES and not p.name.startswith("."))
    except OSError as exc:
        raise HomeError(f"cannot read home {home.root}: {exc.strerror or exc}") from None
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise HomeError(f"{home.root} already holds other files ({shown}); choose a new or "
                        "empty directory with --home")


def initialise(home: Home, member_name: str, pod_name: str | None = None) -> tuple[
        DeviceIdentity, config_mod.Config]:
    """Create identity, secrets, store and config in ``home`` for a new pod.

    The config is written last: a home counts as initialised only once it exists,
    so an init cut short can simply be run again.
    """
    # Keys, the store and the pod's first documents: only this command makes them.
    from podsync.pod.founding import found_pod  # noqa: PLC0415
    from podsync.records.verify import Signer  # noqa: PLC0415
    from podsync.store import DocumentStore  # noqa: PLC0415
    from podsync.trust import identity as identity_mod  # noqa: PLC0415

    if home.is_initialised():
        raise AlreadyInitialised(f"{home.root} is already initialised; use another --home "
                                 "for a second node on this machine")
    draft = config_mod.new_config(member_name, pod_name or f"{member_name.strip()}'s pod")
    _check_home_is_ours(home)
    home.ensure_dirs()
    identity = identity_mod.create_identity(home)
    identity_mod.create_pod_secret(home)
    identity_mod.create_api_token(home)
    signer = Signer(identity_mod.load_signing_key(home), identity.device_id)
    with DocumentStore(home.db_path) as store:
        # The pod id is the hash of the founding record, so it is known only now.
        pod_id = found_pod(store, signer, member_id=draft.member_id,
                           member_name=draft.member_name, pod_name=draft.pod_name,
                           cert_der=identity.cert_der,
                           now=datetime.datetime.now(datetime.timezone.utc))
    config = msgspec.structs.replace(draft, pod_id=pod_id)
    # SQLite gives its -wal and -shm files the database's mode: owner-only, as
    # everything else in the home.
    try:
        os.chmod(home.db_path, FILE_MODE)
    except OSError as exc:
        raise HomeError(f"cannot restrict {home.db_path} to its owner: {exc.strerror or exc}") from None
    config_mod.save_config(home, config)
    return identity, config


def init_command(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", help="Your name, as the pod's members will see it."),
    pod_name: str | None = typer.Option(
        None, "--pod-name", help="The new pod's name.", show_default="NAME's pod"),
) -> None:
    """Create this device's identity and a new pod with you as its first member."""
    home = home_of(ctx)
    identity, config = initialise(home, name, pod_name)
    console = out()
    console.print(f"Initialised podsync home [bold]{escape(str(home.root))}[/bold]")
    console.print(f"  member  {escape(config.member_name)} ({config.member_id})")
    console.print(f"  pod     {escape(config.pod_name)} ({config.pod_id})")
    console.print(f"  device  {identity.device_id}")
    console.print("Start the node with [bold]podsync up[/bold].")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
