"""Every example runs against the real broker and does what its docstring says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


def run_example(name: str, bootstrap: str, *args: str) -> str:
    environment = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_demo_produces_consumes_and_prints_the_lag_table(kafka_bootstrap: str) -> None:
    output = run_example("demo.py", kafka_bootstrap)

    assert "produced 6000 records" in output
    assert "consumed and committed 4000 records as group demo-billing" in output
    assert "lag of group demo-billing" in output


def test_relay_moves_every_record_in_transactions(kafka_bootstrap: str) -> None:
    output = run_example("relay.py", kafka_bootstrap)
    assert "relayed 100 records" in output


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_compiles(name: str) -> None:
    compile((EXAMPLES / name).read_text(), name, "exec")
