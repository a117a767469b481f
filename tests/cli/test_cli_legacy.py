"""A pod made before records were signed: refused for syncing and changes, with a
plain message, and still exported whole so nothing written then is lost."""

from __future__ import annotations

import json
from pathlib import Path

import automerge.core as am
import msgspec

from podsync import ids
from podsync.home import Home
from podsync.repo.values import put_value
from podsync.store import DocumentStore
from tests.cli.cli_helpers import Podsync, assert_clean_failure


def make_legacy(podsync: Podsync, home_dir: Path) -> str:
    """A home as podsync 0.1 left it: its pod document a plain ``roster`` map, its
    needs board plain items; nothing signed."""
    assert podsync("init", "--name", "Ada").returncode == 0
    config_path = Home(home_dir).config_path
    config = json.loads(config_path.read_text())
    config["pod_id"], board = ids.new_document_id(), ids.new_document_id()
    config_path.write_text(json.dumps(config))
    pod_doc, needs_doc = am.Document(), am.Document()
    with pod_doc.transaction() as tx:
        put_value(tx, am.ROOT, "@kind", "pod")
        put_value(tx, am.ROOT, "roster", {"pod_id": config["pod_id"], "pod_name": "Maple",
                                          "members": [{"member_id": config["member_id"],
                                                       "name": "Ada"}]})
        put_value(tx, am.ROOT, "collections", {"needs": board})
    with needs_doc.transaction() as tx:
        put_value(tx, am.ROOT, "@kind", "needs")
        put_value(tx, am.ROOT, "items", {"n1": {"title": "Mend the fence written in 0.1"}})
    with DocumentStore(Home(home_dir).db_path) as store:
        store.create_document(config["pod_id"], "pod", pod_doc)
        store.create_document(board, "needs", needs_doc)
    return board


def test_a_legacy_pod_is_refused_with_a_plain_message_and_exported_whole(
        podsync: Podsync, home_dir: Path) -> None:
    board = make_legacy(podsync, home_dir)
    for args in (("up", "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--no-discovery"),
                 ("need", "add", "Anything"), ("need", "list")):
        assert_clean_failure(podsync(*args), 1, "podsync 0.1", "not signed", "podsync export")
    done = podsync("export", "--format", "json")
    assert done.returncode == 0, done.stderr
    exported = msgspec.json.decode(done.stdout)
    content = exported
    assert content["legacy"] is True
    [needs] = [d for d in content["documents"] if d["id"] == board]
    assert needs["content"]["items"]["n1"]["title"] == "Mend the fence written in 0.1"
