"""A bomb that reached the disk (written by an older node, or by a crash in the
middle of anything): `podsync up` starts, sets that document aside unread,
serves everything else, and reports it; the member can export its bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podsync.ids import document_url
from podsync.sync.limits import MAX_STORED_BYTES
from tests.sync.bombs import deflate_bomb, plant, run_length_bomb
from tests.trust_e2e.test_processes import UpProcess, cli

pytestmark = pytest.mark.slow


def test_podsync_up_sets_bombs_aside_and_serves_everything_else(tmp_path: Path) -> None:
    home = tmp_path / "ada"
    cli(home, "init", "--name", "Ada", "--pod-name", "Garden")
    cli(home, "need", "add", "Water the garden")
    deflated = plant(home, deflate_bomb(2 * MAX_STORED_BYTES), "needs")
    run_length_bytes = run_length_bomb(1_000_000_000)
    run_length = plant(home, run_length_bytes, "agreements")

    node = UpProcess(home)
    try:
        status = node.status()
        aside = {d["url"]: d for d in status["damaged_documents"]}
        assert set(aside) == {document_url(deflated), document_url(run_length)}
        assert "inflates past" in aside[document_url(deflated)]["reason"]
        assert "column entries" in aside[document_url(run_length)]["reason"]
        assert document_url(deflated) not in {d["url"] for d in status["documents"]}
        # Everything else is served.
        needs = json.loads(cli(home, "need", "list", "--json").stdout)
        assert [n["title"] for n in needs] == ["Water the garden"]
        cli(home, "need", "add", "Fix the shed")
        # The member is told, and can take the stored bytes away to inspect.
        human = cli(home, "status").stdout
        assert "quarantined" in human and deflated in human
        listed = json.loads(cli(home, "quarantine", "list", "--json").stdout)
        assert {e["url"] for e in listed} == set(aside)
        out = tmp_path / "bomb.automerge"
        cli(home, "quarantine", "export", document_url(run_length), "--out", str(out))
        assert out.read_bytes() == run_length_bytes
        log = node.output()
        assert "quarantined" in log and "Traceback" not in log
    finally:
        assert node.stop() == 0
    # Stopped: the same commands work on the store, and the bytes are still there.
    listed = json.loads(cli(home, "quarantine", "list", "--json").stdout)
    assert {e["url"] for e in listed} == {document_url(deflated), document_url(run_length)}
    offline = json.loads(cli(home, "status", "--json").stdout)
    assert len(offline["damaged_documents"]) == 2
    needs = json.loads(cli(home, "need", "list", "--json").stdout)
    assert {n["title"] for n in needs} == {"Water the garden", "Fix the shed"}
