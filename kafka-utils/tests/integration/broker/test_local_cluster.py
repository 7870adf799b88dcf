"""A one-node LocalCluster with real JVMs: lifecycle, reuse, stale state, failures."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kafka_utils.broker import LocalCluster
from kafka_utils.broker._config import render_server_properties
from kafka_utils.broker._jvm import broker_command
from kafka_utils.broker._process import is_broker_process
from kafka_utils.errors import BrokerStartError, LocalBrokerError, PortInUseError


def properties_of(cluster: LocalCluster, node_id: int = 1) -> Path:
    return cluster.state_dir / f"node-{node_id}" / "server.properties"


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, free_base_port: Callable[[int], int]
) -> Iterator[LocalCluster]:
    port = free_base_port(1)
    cluster = LocalCluster(port=port, state_dir=tmp_path_factory.mktemp("c") / "1")
    cluster.up()
    yield cluster
    cluster.down()


def test_up_returns_the_bootstrap_and_status_reports_running(
    cluster: LocalCluster,
) -> None:
    status = cluster.status()

    assert status.running
    assert status.bootstrap == f"127.0.0.1:{cluster.port}"
    assert status.kafka_version == "4.4.0"
    assert [(node.node_id, node.port, node.alive) for node in status.nodes] == [
        (1, cluster.port, True)
    ]
    assert is_broker_process(status.nodes[0].pid, properties_of(cluster))


def test_a_second_up_reuses_the_running_broker(cluster: LocalCluster) -> None:
    pid = cluster.status().nodes[0].pid
    started = time.monotonic()

    bootstrap = cluster.up()

    assert time.monotonic() - started < 1.0
    assert bootstrap == f"127.0.0.1:{cluster.port}"
    assert cluster.status().nodes[0].pid == pid


def test_another_object_for_the_same_port_sees_the_same_broker(
    cluster: LocalCluster,
) -> None:
    twin = LocalCluster(port=cluster.port, state_dir=cluster.state_dir)

    assert twin.status() == cluster.status()
    assert twin.up() == cluster.bootstrap_servers


def test_a_cluster_of_another_shape_on_the_port_is_refused(
    cluster: LocalCluster,
) -> None:
    bigger = LocalCluster(nodes=3, port=cluster.port, state_dir=cluster.state_dir)

    with pytest.raises(
        LocalBrokerError, match=r"1-node Kafka 4\.4\.0 cluster is already"
    ):
        bigger.up()


def test_the_broker_accepts_tcp_connections(cluster: LocalCluster) -> None:
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=2):
        pass


def test_the_logs_show_the_broker_started(cluster: LocalCluster) -> None:
    assert "Kafka Server started" in cluster.logs(lines=1000)
    assert len(cluster.logs(lines=5).splitlines()) == 5
    assert cluster.logs(node=1, lines=5) == cluster.logs(lines=5)


def test_up_after_the_jvm_was_killed_starts_afresh(cluster: LocalCluster) -> None:
    old_pid = cluster.status().nodes[0].pid
    os.kill(old_pid, signal.SIGKILL)
    while is_broker_process(old_pid, properties_of(cluster)):
        time.sleep(0.05)

    assert not cluster.status().running

    assert cluster.up() == cluster.bootstrap_servers
    status = cluster.status()
    assert status.running
    assert status.nodes[0].pid != old_pid


def test_down_stops_the_jvm_and_deletes_the_data(
    tmp_path: Path, free_base_port: Callable[[int], int]
) -> None:
    cluster = LocalCluster(port=free_base_port(1), state_dir=tmp_path / "state")
    cluster.up()
    pid = cluster.status().nodes[0].pid

    assert cluster.down() is True

    assert pid_gone(pid)
    assert not cluster.status().running
    assert cluster.status().nodes == ()
    assert not (tmp_path / "state").exists()
    assert cluster.down() is False
    with pytest.raises(LocalBrokerError, match="no Kafka logs"):
        cluster.logs()


def test_a_port_taken_by_another_process_is_reported(
    tmp_path: Path, free_base_port: Callable[[int], int]
) -> None:
    port = free_base_port(1)
    cluster = LocalCluster(port=port, state_dir=tmp_path / "state")

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()

        with pytest.raises(PortInUseError, match=f"port {port} is already in use"):
            cluster.up()

    assert cluster.status().nodes == ()


def test_a_taken_controller_port_is_reported_too(
    tmp_path: Path, free_base_port: Callable[[int], int]
) -> None:
    port = free_base_port(1)
    cluster = LocalCluster(port=port, state_dir=tmp_path / "state")

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port + 10001))
        squatter.listen()

        with pytest.raises(PortInUseError, match=f"port {port + 10001} "):
            cluster.up()


def test_a_broker_not_ready_in_time_is_killed(
    tmp_path: Path, free_base_port: Callable[[int], int]
) -> None:
    cluster = LocalCluster(port=free_base_port(1), state_dir=tmp_path / "state")

    with pytest.raises(BrokerStartError, match=r"was not ready within 0.5 s") as caught:
        cluster.up(timeout=0.5)

    assert "last lines of" in str(caught.value)
    status = cluster.status()
    assert not status.running
    assert all(pid_gone(node.pid) for node in status.nodes)

    # The failed start's leftovers do not block the next start.
    assert cluster.up() == cluster.bootstrap_servers
    cluster.down()


def test_a_configuration_kafka_rejects_fails_cleanly(
    tmp_path: Path,
    free_base_port: Callable[[int], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "kafka_utils.broker._startup.render_server_properties",
        lambda *args: render_server_properties(*args) + "num.io.threads=many\n",
    )
    cluster = LocalCluster(port=free_base_port(1), state_dir=tmp_path / "state")

    with pytest.raises(BrokerStartError, match="could not format the Kafka storage"):
        cluster.up()

    assert not cluster.status().running


def test_a_broker_exiting_during_startup_is_reported_with_its_log(
    tmp_path: Path,
    free_base_port: Callable[[int], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_command(*args: Any, **kwargs: Any) -> list[str]:
        java, *rest = broker_command(*args, **kwargs)
        return [java, "-XX:+NoSuchVmOption", *rest]

    monkeypatch.setattr("kafka_utils.broker._startup.broker_command", broken_command)
    cluster = LocalCluster(port=free_base_port(1), state_dir=tmp_path / "state")

    with pytest.raises(BrokerStartError, match="exited with code 1") as caught:
        cluster.up()

    assert "NoSuchVmOption" in str(caught.value)
    assert not cluster.status().running
