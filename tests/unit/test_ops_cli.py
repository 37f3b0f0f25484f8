"""`python -m ops` names the cluster it touches: no stack file, no operation (never the lab's by default)."""
from __future__ import annotations

import pytest

from ops.__main__ import main


def test_ops_refuses_to_run_without_a_stack_file(capsys):
    with pytest.raises(SystemExit) as ended:
        main(["--ssh-key", "key", "--known-hosts", "hosts", "rolling-update", "--dry-run"])
    assert ended.value.code == 2
    assert "the following arguments are required: --stack-file" in capsys.readouterr().err
