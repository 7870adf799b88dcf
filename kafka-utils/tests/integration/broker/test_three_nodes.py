"""A three-node KRaft cluster with real JVMs."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from kafka_utils.broker import LocalCluster

pytestmark = pytest.mark.cluster


def test_three_nodes_come_up_and_all_accept_connections(
    tmp_path: Path, free_base_port: Callable[[int], int]
) -> None:
    port = free_base_port(3)
    cluster = LocalCluster(nodes=3, port=port, state_dir=tmp_path / "state")

    try:
        bootstrap = cluster.up()

        assert bootstrap == ",".join(f"127.0.0.1:{port + i}" for i in range(3))
        status = cluster.status()
        assert status.running
        assert [node.node_id for node in status.nodes] == [1, 2, 3]
        assert len({node.pid for node in status.nodes}) == 3
        for node in status.nodes:
            with socket.create_connection(("127.0.0.1", node.port), timeout=2):
                pass
        for node_id in (1, 2, 3):
            assert "Kafka Server started" in cluster.logs(node=node_id, lines=2000)
        assert "==> node 3 <==" in cluster.logs(lines=1)
    finally:
        cluster.down()

    assert not cluster.status().running
