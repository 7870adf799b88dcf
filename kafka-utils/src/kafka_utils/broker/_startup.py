"""The steps of starting a cluster: files, storage formatting, launch, readiness.

A cluster's state folder holds `log4j2.yaml`, `cluster.json` and one folder per
node, `node-<id>/`, with `server.properties`, `data/` and `broker.log`.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

from kafka_utils.broker._config import (
    LOG4J2_YAML,
    NodePorts,
    render_server_properties,
)
from kafka_utils.broker._jvm import READY_MARKER, broker_command, format_command
from kafka_utils.broker._process import port_accepts, tail
from kafka_utils.errors import BrokerStartError

__all__ = [
    "await_ready",
    "format_storage",
    "kill",
    "launch",
    "log_path",
    "properties_path",
    "reap",
    "write_configuration",
]

logger = logging.getLogger(__name__)

FORMAT_TIMEOUT_SECONDS = 120.0
ERROR_LOG_LINES = 20

# JVMs started by this Python process, kept so they can be reaped (no zombies) and
# so Popen does not warn about children still running when it is collected.
_children: dict[int, subprocess.Popen[bytes]] = {}


def node_dir(state_dir: Path, node_id: int) -> Path:
    """The folder of one node."""
    return state_dir / f"node-{node_id}"


def properties_path(state_dir: Path, node_id: int) -> Path:
    """The `server.properties` of one node."""
    return node_dir(state_dir, node_id) / "server.properties"


def log_path(state_dir: Path, node_id: int) -> Path:
    """The `broker.log` of one node."""
    return node_dir(state_dir, node_id) / "broker.log"


def write_configuration(state_dir: Path, cluster: tuple[NodePorts, ...]) -> Path:
    """Write every node's `server.properties` and the shared Log4j file.

    Returns:
        The path of `log4j2.yaml`.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    log4j = state_dir / "log4j2.yaml"
    log4j.write_text(LOG4J2_YAML, encoding="utf-8")

    for node in cluster:
        data = node_dir(state_dir, node.node_id) / "data"
        data.mkdir(parents=True, exist_ok=True)
        properties_path(state_dir, node.node_id).write_text(
            render_server_properties(node, cluster, data), encoding="utf-8"
        )
    return log4j


def format_storage(
    java: Path,
    libs: Path,
    log4j: Path,
    state_dir: Path,
    cluster: tuple[NodePorts, ...],
    cluster_id: str,
    archive: Path | None,
) -> None:
    """Run `kafka-storage format` for every node at once, one JVM each.

    A single node is formatted `--standalone` (a one-voter dynamic quorum, KIP-853);
    several nodes share the static `controller.quorum.voters`.

    Raises:
        BrokerStartError: a node could not be formatted; the message has its output.
    """
    processes = [
        subprocess.Popen(
            format_command(
                java,
                libs,
                log4j,
                properties_path(state_dir, node.node_id),
                cluster_id,
                standalone=len(cluster) == 1,
                archive=archive,
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for node in cluster
    ]

    failures = []
    for node, process in zip(cluster, processes, strict=True):
        try:
            output, _ = process.communicate(timeout=FORMAT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if process.returncode != 0:
            lines = output.decode(errors="replace").strip().splitlines()
            failures.append(
                f"node {node.node_id} (exit {process.returncode}):\n"
                + "\n".join(f"  {line}" for line in lines[-ERROR_LOG_LINES:])
            )

    if failures:
        raise BrokerStartError(
            "could not format the Kafka storage of " + "\n".join(failures)
        )


def launch(
    java: Path,
    libs: Path,
    log4j: Path,
    state_dir: Path,
    node: NodePorts,
    *,
    heap_mb: int,
    archive: Path | None,
) -> subprocess.Popen[bytes]:
    """Start one broker JVM, detached, its output going to its broker.log."""
    command = broker_command(
        java,
        libs,
        log4j,
        properties_path(state_dir, node.node_id),
        heap_mb=heap_mb,
        archive=archive,
    )
    with log_path(state_dir, node.node_id).open("wb") as log:
        # A new session: the JVM survives the CLI that started it and does not
        # receive the terminal's Ctrl-C.
        process = subprocess.Popen(
            command,
            cwd=node_dir(state_dir, node.node_id),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    _children[process.pid] = process
    logger.debug("launched node %d as pid %d", node.node_id, process.pid)
    return process


def await_ready(
    state_dir: Path,
    cluster: tuple[NodePorts, ...],
    processes: list[subprocess.Popen[bytes]],
    timeout: float,
) -> None:
    """Wait until every node accepts connections and has logged its start.

    Raises:
        BrokerStartError: a node exited, or was not ready within `timeout`; the
            message ends with the last lines of its log.
    """
    deadline = time.monotonic() + timeout
    pending = dict(zip(cluster, processes, strict=True))

    while pending:
        for node, process in list(pending.items()):
            code = process.poll()
            if code is not None:
                raise BrokerStartError(
                    f"Kafka node {node.node_id} (port {node.port}) exited with code "
                    f"{code} during startup; {_log_excerpt(state_dir, node)}"
                )
            # The port opens a little before the broker is registered and unfenced;
            # the log line comes last (KafkaRaftServer.startup).
            if port_accepts(node.port, timeout=0.2) and _has_started(state_dir, node):
                del pending[node]

        if pending and time.monotonic() >= deadline:
            late = next(iter(pending))
            raise BrokerStartError(
                f"Kafka node {late.node_id} (port {late.port}) was not ready within "
                f"{timeout:g} s; {_log_excerpt(state_dir, late)}"
            )
        if pending:
            time.sleep(0.1)


def kill(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL JVMs this process just launched and wait for them to be gone."""
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        process.wait()
        _children.pop(process.pid, None)


def reap(pid: int) -> None:
    """Collect the exit status of a stopped JVM, if this process started it.

    Called once the JVM is known to be exiting: its main thread can already show
    as a zombie while the other threads are still being torn down, so this waits
    a little for the process to be reapable rather than polling once.
    """
    process = _children.get(pid)
    if process is None:
        return
    try:
        process.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        logger.warning("pid %d has not exited yet; it will be reaped later", pid)
        return
    del _children[pid]


def _has_started(state_dir: Path, node: NodePorts) -> bool:
    try:
        return READY_MARKER in log_path(state_dir, node.node_id).read_bytes()
    except FileNotFoundError:
        return False


def _log_excerpt(state_dir: Path, node: NodePorts) -> str:
    """The log's first ERROR line (the cause) and its last lines (how it ended)."""
    path = log_path(state_dir, node.node_id)
    excerpt = tail(path, ERROR_LOG_LINES) or "(empty)"
    cause = _first_error(path)
    found = f"first error: {cause}\n" if cause and cause not in excerpt else ""
    return f"{found}last lines of {path}:\n{excerpt}"


def _first_error(path: Path) -> str | None:
    """The first ERROR or FATAL line of a broker log, if any."""
    try:
        with path.open(errors="replace") as log:
            for line in log:
                if "] ERROR " in line or "] FATAL " in line:
                    return line.rstrip()
    except OSError:
        return None
    return None
