"""`kafka-utils broker` driven through click's CliRunner, with real JVMs."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from kafka_utils.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAFKA_UTILS_STATE_DIR", str(tmp_path / "clusters"))
    return CliRunner()


def test_up_status_logs_down(
    runner: CliRunner, free_base_port: Callable[[int], int]
) -> None:
    port = str(free_base_port(1))
    try:
        up = runner.invoke(cli, ["broker", "up", "--port", port])

        assert up.exit_code == 0, up.output
        assert up.stdout == f"127.0.0.1:{port}\n"
        assert "Kafka is ready" in up.stderr

        again = runner.invoke(cli, ["broker", "up", "--port", port])
        assert again.stdout == f"127.0.0.1:{port}\n"
        assert "already running" in again.stderr

        status = runner.invoke(cli, ["broker", "status", "--port", port])
        assert status.exit_code == 0
        assert "running" in status.stdout
        assert "alive" in status.stdout

        logs = runner.invoke(cli, ["broker", "logs", "--port", port, "-n", "500"])
        assert logs.exit_code == 0
        assert "Kafka Server started" in logs.stdout
    finally:
        down = runner.invoke(cli, ["broker", "down", "--port", port])

    assert down.exit_code == 0
    assert "Stopped Kafka" in down.stderr

    after = runner.invoke(cli, ["broker", "status", "--port", port])
    assert after.exit_code == 1
    assert f"No Kafka cluster on port {port}" in after.stdout


def test_a_taken_port_is_one_clean_error_line(
    runner: CliRunner, free_base_port: Callable[[int], int]
) -> None:
    port = free_base_port(1)

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = runner.invoke(cli, ["broker", "up", "--port", str(port)])

    assert result.exit_code == 4
    assert result.stdout == ""
    error_lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert error_lines == [
        f"error: port {port} is already in use by another process; "
        "stop it or start Kafka on other ports with --port"
    ]
    assert "Traceback" not in result.output
