from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from kafka_utils.broker._process import (
    cmdline_is_broker,
    is_broker_process,
    port_accepts,
    port_is_free,
    tail,
)
from kafka_utils.broker._state import (
    ClusterState,
    Health,
    NodeState,
    assess,
    load_state,
    save_state,
)

PROPERTIES = Path("/state/9092/node-1/server.properties")


def cluster(*pids: int) -> ClusterState:
    nodes = tuple(
        NodeState(node_id=i + 1, port=9092 + i, controller_port=19093 + i, pid=pid)
        for i, pid in enumerate(pids)
    )
    return ClusterState("4.4.0", "AAAAAAAAAAAAAAAAAAAAAA", 9092, nodes)


def test_no_record_is_absent() -> None:
    assert assess(None, lambda _: True, lambda _: True) is Health.ABSENT


def test_all_alive_and_accepting_is_running() -> None:
    assert assess(cluster(10, 11, 12), lambda _: True, lambda _: True) is Health.RUNNING


def test_no_live_jvm_is_stale() -> None:
    assert assess(cluster(10, 11), lambda _: False, lambda _: True) is Health.STALE


def test_some_live_jvms_are_partial() -> None:
    state = cluster(10, 11, 12)

    health = assess(state, lambda node: node.pid != 11, lambda _: True)

    assert health is Health.PARTIAL


def test_live_jvms_with_a_closed_port_are_partial() -> None:
    state = cluster(10, 11)

    health = assess(state, lambda _: True, lambda node: node.port == 9092)

    assert health is Health.PARTIAL


def test_state_round_trips_through_cluster_json(tmp_path: Path) -> None:
    path = tmp_path / "cluster.json"

    save_state(path, cluster(10, 11, 12))

    assert load_state(path) == cluster(10, 11, 12)
    assert json.loads(path.read_text())["format"] == 1
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"format": 99}', '{"format": 1, "port": 1}']
)
def test_an_unreadable_record_counts_as_absent(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cluster.json"
    path.write_text(content)

    assert load_state(path) is None


def test_a_missing_record_is_none(tmp_path: Path) -> None:
    assert load_state(tmp_path / "cluster.json") is None


def test_a_broker_command_line_is_recognised() -> None:
    arguments = ["/usr/bin/java", "-Xmx512m", "-cp", "libs/*", "kafka.Kafka"]
    cmdline = "\0".join([*arguments, str(PROPERTIES), ""]).encode()

    assert cmdline_is_broker(cmdline, PROPERTIES)


def test_a_broker_of_another_cluster_is_not_ours() -> None:
    cmdline = b"java\0kafka.Kafka\0/state/19092/node-1/server.properties\0"

    assert not cmdline_is_broker(cmdline, PROPERTIES)


def test_a_reused_pid_running_something_else_is_not_the_broker() -> None:
    cmdline = f"python\0-m\0http.server\0{PROPERTIES}\0".encode()

    assert not cmdline_is_broker(cmdline, PROPERTIES)


def test_this_process_is_not_a_broker() -> None:
    assert not is_broker_process(os.getpid(), PROPERTIES)


def test_without_procfs_the_command_line_comes_from_ps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("kafka_utils.broker._process._PROC", tmp_path / "no-proc")

    assert not is_broker_process(os.getpid(), PROPERTIES)


def test_a_dead_pid_is_not_a_broker() -> None:
    # Above the kernel's largest pid_max (2**22), so no process can have it.
    assert not is_broker_process(2**22 + 12345, PROPERTIES)
    assert not is_broker_process(0, PROPERTIES)


def test_a_bound_port_is_not_free_and_accepts_connections() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        assert not port_is_free(port)
        assert port_accepts(port)

    assert port_is_free(port)
    assert not port_accepts(port)


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "broker.log"
    log.write_text("".join(f"line {i}\n" for i in range(100_000)))

    assert tail(log, 3) == "line 99997\nline 99998\nline 99999"
    assert tail(log, 0) == ""
    assert tail(tmp_path / "missing.log", 5) == ""


def test_tail_of_a_short_file_is_the_whole_file(tmp_path: Path) -> None:
    log = tmp_path / "broker.log"
    log.write_text("one\ntwo\n")

    assert tail(log, 10) == "one\ntwo"
