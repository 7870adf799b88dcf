"""Recognising a broker by its command line, with a stand-in process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafka_utils.broker._process import is_broker_process, stop_processes

PROPERTIES = Path("/state/41234/node-1/server.properties")


@pytest.fixture
def impostor() -> Iterator[subprocess.Popen[bytes]]:
    # Extra arguments after `-c CODE` stay in the command line, as java's do.
    code = "import time; time.sleep(30)"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "kafka.Kafka", str(PROPERTIES)]
    )
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("procfs", [True, False], ids=["proc", "ps"])
def test_a_process_with_the_broker_command_line_is_recognised(
    impostor: subprocess.Popen[bytes],
    procfs: bool,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if not procfs:
        monkeypatch.setattr("kafka_utils.broker._process._PROC", tmp_path / "none")

    assert is_broker_process(impostor.pid, PROPERTIES)
    assert not is_broker_process(impostor.pid, PROPERTIES.with_name("other"))


def test_stopping_signals_only_the_matching_process(
    impostor: subprocess.Popen[bytes],
) -> None:
    assert stop_processes([(impostor.pid, PROPERTIES.with_name("x"))], 1.0) == []
    assert impostor.poll() is None

    assert stop_processes([(impostor.pid, PROPERTIES)], timeout=5.0) == [impostor.pid]
    assert impostor.wait(timeout=1) is not None
