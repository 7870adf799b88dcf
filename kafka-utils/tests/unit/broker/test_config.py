from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from kafka_utils.broker import DEFAULT_PORT, LocalCluster, NodePorts, layout
from kafka_utils.broker._config import (
    bootstrap_servers,
    new_cluster_id,
    render_server_properties,
)
from kafka_utils.errors import ConfigurationError


def parse(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_one_node_listens_on_the_port_and_the_port_plus_10001() -> None:
    assert layout(1, DEFAULT_PORT) == (NodePorts(1, 9092, 19093),)


def test_three_nodes_take_consecutive_ports() -> None:
    nodes = layout(3, 9092)

    assert [node.node_id for node in nodes] == [1, 2, 3]
    assert [node.port for node in nodes] == [9092, 9093, 9094]
    assert [node.controller_port for node in nodes] == [19093, 19094, 19095]
    assert bootstrap_servers(nodes) == "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"


@pytest.mark.parametrize(
    ("nodes", "port"),
    [(1, 55535), (3, 55533), (1, 1023), (1, 0), (0, 9092), (10, 9092)],
)
def test_out_of_range_layouts_are_configuration_errors(nodes: int, port: int) -> None:
    with pytest.raises(ConfigurationError):
        layout(nodes, port)


def test_the_highest_valid_port_leaves_room_for_the_controllers() -> None:
    assert layout(3, 55532)[-1].controller_port == 65535


def test_the_port_error_names_the_port_and_the_usable_range() -> None:
    with pytest.raises(ConfigurationError, match=r"port 65000 .* 1024 to 55534"):
        LocalCluster(port=65000)


def test_a_single_node_uses_a_standalone_dynamic_quorum(tmp_path: Path) -> None:
    node = layout(1, 9092)[0]

    properties = parse(render_server_properties(node, (node,), tmp_path / "data"))

    assert properties["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in properties
    assert properties["process.roles"] == "broker,controller"
    assert properties["node.id"] == "1"
    assert properties["listeners"] == (
        "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:19093"
    )
    assert properties["log.dirs"] == str(tmp_path / "data")


def test_a_single_node_replicates_internal_topics_once(tmp_path: Path) -> None:
    node = layout(1, 9092)[0]

    properties = parse(render_server_properties(node, (node,), tmp_path))

    for name in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert properties[name] == "1", name


def test_three_nodes_share_a_static_quorum_and_replicate_internal_topics(
    tmp_path: Path,
) -> None:
    nodes = layout(3, 9092)

    properties = parse(render_server_properties(nodes[1], nodes, tmp_path))

    assert properties["node.id"] == "2"
    assert properties["controller.quorum.voters"] == (
        "1@127.0.0.1:19093,2@127.0.0.1:19094,3@127.0.0.1:19095"
    )
    assert "controller.quorum.bootstrap.servers" not in properties
    assert properties["listeners"] == (
        "PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:19094"
    )
    assert properties["offsets.topic.replication.factor"] == "3"
    assert properties["transaction.state.log.replication.factor"] == "3"
    assert properties["transaction.state.log.min.isr"] == "2"
    assert properties["share.coordinator.state.topic.replication.factor"] == "3"
    assert properties["share.coordinator.state.topic.min.isr"] == "2"
    assert properties["default.replication.factor"] == "1"


def test_unknown_topics_are_never_created_on_use(tmp_path: Path) -> None:
    node = layout(1, 9092)[0]

    properties = parse(render_server_properties(node, (node,), tmp_path))

    assert properties["auto.create.topics.enable"] == "false"
    assert properties["delete.topic.enable"] == "true"
    assert properties["group.initial.rebalance.delay.ms"] == "0"


def test_backslashes_in_paths_are_escaped_for_java_properties() -> None:
    node = layout(1, 9092)[0]

    text = render_server_properties(node, (node,), Path("/tmp/a\\b"))

    assert "log.dirs=/tmp/a\\\\b" in text


def test_cluster_ids_look_like_kafka_random_uuids() -> None:
    ids = {new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
