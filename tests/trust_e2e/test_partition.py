"""Two members admit two newcomers while cut off from each other; after they
link, every node's roster holds both newcomers."""

from __future__ import annotations

from pathlib import Path

from tests.trust_e2e.conftest import (
    NodeFactory,
    active_names,
    eventually,
    forget_peers,
    invite,
    join_via,
    roster_of,
)

EVERYONE = {"Ada", "Bo", "Xia", "Yan"}


async def test_concurrent_admissions_while_partitioned_both_survive_the_merge(
        nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("ada")
    b_home = await join_via(tmp_path, "bo", await invite(a))
    forget_peers(b_home)  # B's node must not dial A by itself: they stay apart
    b = await nodes.start("bo")
    assert b.repo.engine.peers() == [] and a.repo.engine.peers() == []

    x_code, y_code = await invite(a), await invite(b)
    await join_via(tmp_path, "xia", x_code)  # through A only (the code's address)
    await join_via(tmp_path, "yan", y_code)  # through B only
    assert active_names(a) == {"Ada", "Bo", "Xia"}
    assert active_names(b) == {"Ada", "Bo", "Yan"}
    assert a.repo.engine.peers() == [] and b.repo.engine.peers() == []  # still apart

    # The partition heals: B's node comes back able to reach A.
    await b.stop()
    b = await nodes.start("bo", peers=[a.listen_addresses[0]])
    await eventually(lambda: active_names(a) == EVERYONE and active_names(b) == EVERYONE)

    x = await nodes.start("xia")  # remembers A's address
    y = await nodes.start("yan", peers=[b.listen_addresses[0]])  # B listens on a new port
    await eventually(lambda: all(active_names(n) == EVERYONE for n in (a, b, x, y)))
    for node in (a, b, x, y):
        roster = roster_of(node)
        assert not any(d.contested for d in roster.devices)
        assert len([d for d in roster.devices if d.status == "active"]) == 4
        assert all(i.used_by is not None for i in roster.invites)
    # One merged pod document everywhere, not four look-alikes.
    await eventually(lambda: len({tuple(sorted(n.repo.get(n.config.pod_id).get_heads()))
                                  for n in (a, b, x, y)}) == 1)
