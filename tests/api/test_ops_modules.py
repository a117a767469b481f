"""A command run on the store imports only the module of its own operation;
``ops.OP_MODULES`` says where each family of operations lives, and must not drift
from where they are registered."""

from __future__ import annotations

import json
import subprocess
import sys

from podsync.api import ops
from tests.cli.cli_helpers import COMMAND_TIMEOUT_S, podsync_env


def test_every_operation_lives_where_op_modules_says() -> None:
    for name, operation in ops.all_ops().items():
        family = name.partition(".")[0]
        assert operation.fn.__module__ in ops.OP_MODULES.get(family, ()), name
    families = {name.partition(".")[0] for name in ops.all_ops()}
    assert set(ops.OP_MODULES) == families


def test_getting_one_operation_imports_its_module_and_not_the_others() -> None:
    probe = ("import json, sys; from podsync.api import ops; ops.get('need.list'); "
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('podsync.api.'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=podsync_env(), timeout=COMMAND_TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    assert "podsync.api.ops_needs" in loaded
    assert not loaded & {"podsync.api.pod_ops", "podsync.api.relay_ops", "podsync.api.peer_ops",
                         "podsync.api.ops_export", "podsync.api.ops_feedback"}
