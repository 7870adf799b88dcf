"""The `cluster.json` record of a running local cluster, and judging its health.

`cluster.json` is written when the JVMs are launched, before they are ready, so a
cluster whose starter died half-way can still be found and cleaned up.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["ClusterState", "Health", "NodeState", "assess", "load_state", "save_state"]

logger = logging.getLogger(__name__)

STATE_FORMAT = 1


@dataclass(frozen=True)
class NodeState:
    """One launched node: its id, ports and JVM pid."""

    node_id: int
    port: int
    controller_port: int
    pid: int


@dataclass(frozen=True)
class ClusterState:
    """What `cluster.json` records about a launched cluster."""

    kafka_version: str
    cluster_id: str
    port: int
    nodes: tuple[NodeState, ...]


class Health(enum.Enum):
    """What became of a recorded cluster."""

    ABSENT = "absent"
    """No cluster.json: nothing was started, or it was stopped cleanly."""

    RUNNING = "running"
    """Every node's JVM is alive and accepts connections on its client port."""

    STALE = "stale"
    """No node's JVM is alive any more (killed, crashed, or the machine rebooted)."""

    PARTIAL = "partial"
    """Some JVMs are alive but the cluster as a whole is not healthy."""


def assess(
    state: ClusterState | None,
    is_alive: Callable[[NodeState], bool],
    accepts: Callable[[NodeState], bool],
) -> Health:
    """Judge a recorded cluster.

    Args:
        state: the recorded cluster, or None when there is no record.
        is_alive: whether a node's recorded pid is still that node's JVM.
        accepts: whether a node's client port accepts TCP connections.
    """
    if state is None or not state.nodes:
        return Health.ABSENT

    alive = [node for node in state.nodes if is_alive(node)]
    if not alive:
        return Health.STALE
    if len(alive) == len(state.nodes) and all(accepts(node) for node in alive):
        return Health.RUNNING
    return Health.PARTIAL


def load_state(path: Path) -> ClusterState | None:
    """Read `cluster.json`; None if it is missing or unreadable.

    An unreadable record (a crash while writing it, a hand edit) is treated like a
    missing one: the caller then cleans the folder and starts afresh.
    """
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("ignoring unreadable %s: %s", path, error)
        return None

    try:
        if not isinstance(raw, dict) or raw.get("format") != STATE_FORMAT:
            raise ValueError("not a kafka-utils cluster record of a known format")
        return ClusterState(
            kafka_version=str(raw["kafka_version"]),
            cluster_id=str(raw["cluster_id"]),
            port=int(raw["port"]),
            nodes=tuple(
                NodeState(
                    node_id=int(node["node_id"]),
                    port=int(node["port"]),
                    controller_port=int(node["controller_port"]),
                    pid=int(node["pid"]),
                )
                for node in raw["nodes"]
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        logger.warning("ignoring malformed %s: %s", path, error)
        return None


def save_state(path: Path, state: ClusterState) -> None:
    """Write `cluster.json` atomically (a temporary file renamed over it)."""
    document = {"format": STATE_FORMAT, **asdict(state)}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
