"""Port layout and configuration files of a local KRaft cluster.

Every node runs in KRaft combined mode (`process.roles=broker,controller`). Node `i`
(0-based, `node.id` is `i + 1`) listens for clients on `port + i` and for the
controller quorum on `port + 10001 + i`, so the default port 9092 pairs with
controller port 19093 and a three-node cluster on 9092 uses 9092-9094 and
19093-19095.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

from kafka_utils.errors import ConfigurationError

__all__ = [
    "CONTROLLER_PORT_OFFSET",
    "DEFAULT_PORT",
    "LOG4J2_YAML",
    "MAX_NODES",
    "NodePorts",
    "bootstrap_servers",
    "layout",
    "new_cluster_id",
    "render_server_properties",
]

DEFAULT_PORT = 9092
CONTROLLER_PORT_OFFSET = 10001
MAX_NODES = 9
HOST = "127.0.0.1"

# Log4j 2 configuration for the broker: everything at INFO to stdout, which the
# cluster redirects into each node's broker.log.
LOG4J2_YAML = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
"""


@dataclass(frozen=True)
class NodePorts:
    """Where one node of the cluster listens.

    Attributes:
        node_id: Kafka's `node.id`, from 1.
        port: the PLAINTEXT listener clients connect to.
        controller_port: the CONTROLLER listener of the KRaft quorum.
    """

    node_id: int
    port: int
    controller_port: int


def layout(nodes: int, port: int) -> tuple[NodePorts, ...]:
    """Return the ports of each node of a cluster whose first node uses `port`.

    Args:
        nodes: the number of nodes, 1 to 9.
        port: the PLAINTEXT port of the first node.

    Raises:
        ConfigurationError: `nodes` is out of range, or a port would fall outside
            1024-65535.
    """
    if not 1 <= nodes <= MAX_NODES:
        raise ConfigurationError(
            f"a local cluster has 1 to {MAX_NODES} nodes, not {nodes}"
        )

    highest = port + CONTROLLER_PORT_OFFSET + nodes - 1
    if port < 1024 or highest > 65535:
        raise ConfigurationError(
            f"port {port} is out of range: a {nodes}-node cluster also needs "
            f"controller ports up to {highest}, so use a port from 1024 to "
            f"{65535 - CONTROLLER_PORT_OFFSET - nodes + 1}"
        )

    return tuple(
        NodePorts(
            node_id=index + 1,
            port=port + index,
            controller_port=port + CONTROLLER_PORT_OFFSET + index,
        )
        for index in range(nodes)
    )


def bootstrap_servers(nodes: tuple[NodePorts, ...]) -> str:
    """Return the comma-separated `host:port` list of the nodes' client ports."""
    return ",".join(f"{HOST}:{node.port}" for node in nodes)


def render_server_properties(
    node: NodePorts, cluster: tuple[NodePorts, ...], data_dir: Path
) -> str:
    """Return the `server.properties` of one node.

    A single node uses a dynamic quorum (`controller.quorum.bootstrap.servers`,
    formatted with `--standalone`, KIP-853); several nodes use a static quorum
    (`controller.quorum.voters`). Internal topics are replicated to every node, up
    to three, with a min.insync.replicas one lower so one node may be down.

    Args:
        node: the node to configure.
        cluster: every node of the cluster, `node` included.
        data_dir: the node's `log.dirs`.
    """
    replication = min(3, len(cluster))
    min_isr = max(1, replication - 1)
    listeners = (
        f"PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port}"
    )

    if len(cluster) == 1:
        quorum = f"controller.quorum.bootstrap.servers={HOST}:{node.controller_port}"
    else:
        voters = ",".join(
            f"{peer.node_id}@{HOST}:{peer.controller_port}" for peer in cluster
        )
        quorum = f"controller.quorum.voters={voters}"

    properties = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "listeners": listeners,
        "advertised.listeners": listeners,
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": _escape(str(data_dir)),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": str(replication),
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(replication),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        # The internal topics default to 50 partitions each, created on the first
        # group or transaction request; a local broker on a laptop or a 2-core CI
        # machine answers that first request much sooner with a few.
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.num.partitions": "5",
        "share.coordinator.state.topic.num.partitions": "5",
        "group.initial.rebalance.delay.ms": "0",
        # Tests rely on unknown topics being errors rather than created on use.
        "auto.create.topics.enable": "false",
        "delete.topic.enable": "true",
        "num.network.threads": "2",
        "num.io.threads": "4",
    }
    body = "\n".join(f"{name}={value}" for name, value in properties.items())
    return f"# Written by kafka-utils for node {node.node_id}.\n{quorum}\n{body}\n"


def new_cluster_id() -> str:
    """Return a random cluster id in the format of `kafka-storage random-uuid`.

    Kafka's `Uuid.toString` is the URL-safe base64 of the 16 bytes without padding;
    `Uuid.randomUuid` rejects ids starting with "-" (they read as a command-line
    flag). Generating it here saves one JVM start (about 1.5 s).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _escape(value: str) -> str:
    """Escape a value for a Java properties file (backslash is its escape)."""
    return value.replace("\\", "\\\\")
