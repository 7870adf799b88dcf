"""`LocalCluster`: start, reuse, inspect and stop a local Apache Kafka cluster."""

from __future__ import annotations

import logging
import os
import shutil
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from kafka_utils.broker import _lease, _startup
from kafka_utils.broker._config import (
    DEFAULT_PORT,
    NodePorts,
    bootstrap_servers,
    layout,
    new_cluster_id,
)
from kafka_utils.broker._java import find_java
from kafka_utils.broker._jvm import Archives, prepare_archives
from kafka_utils.broker._locks import file_lock
from kafka_utils.broker._process import (
    is_broker_process,
    port_accepts,
    port_is_free,
    stop_processes,
    tail,
)
from kafka_utils.broker._provision import KAFKA_VERSION, cache_root, provision
from kafka_utils.broker._state import (
    ClusterState,
    Health,
    NodeState,
    assess,
    load_state,
    save_state,
)
from kafka_utils.errors import ConfigurationError, LocalBrokerError, PortInUseError

__all__ = ["ClusterStatus", "LocalCluster", "NodeStatus", "state_root"]

logger = logging.getLogger(__name__)

STATE_FILE = "cluster.json"


def state_root() -> Path:
    """Return the folder of cluster state: `$KAFKA_UTILS_STATE_DIR` or the cache's."""
    configured = os.environ.get("KAFKA_UTILS_STATE_DIR")
    if configured:
        return Path(configured).expanduser()
    return cache_root() / "clusters"


@dataclass(frozen=True)
class NodeStatus:
    """The state of one node of a local cluster.

    Attributes:
        node_id: Kafka's `node.id`, from 1.
        port: the client (PLAINTEXT) port.
        controller_port: the KRaft controller port.
        pid: the JVM's process id as recorded at launch.
        alive: the JVM is running and its client port accepts connections.
    """

    node_id: int
    port: int
    controller_port: int
    pid: int
    alive: bool


@dataclass(frozen=True)
class ClusterStatus:
    """The state of a local cluster, as returned by `LocalCluster.status`.

    Attributes:
        running: every node is alive; False when nothing was started.
        port: the client port of the first node, which names the cluster.
        bootstrap: the bootstrap servers of the recorded cluster, or None.
        nodes: one entry per recorded node; empty when nothing was started.
        cluster_id: the KRaft cluster id, or None.
        kafka_version: the Kafka release of the recorded cluster, or None.
        state_dir: the folder holding the configuration, data and logs.
    """

    running: bool
    port: int
    bootstrap: str | None
    nodes: tuple[NodeStatus, ...]
    cluster_id: str | None
    kafka_version: str | None
    state_dir: Path


class LocalCluster:
    """A local Apache Kafka cluster in KRaft combined mode, run as detached JVMs.

    The cluster is named by its first port: `LocalCluster(port=9092)` in one process
    and `kafka-utils broker status --port 9092` in another see the same cluster,
    recorded in `<state_dir>/cluster.json`. The JVMs outlive the Python process that
    started them until `down()` is called. Data is disposable: `down()` deletes it.

    Example:
        ```python
        cluster = LocalCluster(nodes=1, port=9092)
        bootstrap = cluster.up()  # "127.0.0.1:9092"
        ...
        cluster.down()
        ```

    Args:
        nodes: the number of nodes, 1 to 9 (usually 1 or 3).
        port: the client port of the first node; node `i` uses `port + i` and
            controller port `port + 10001 + i`.
        state_dir: the folder for configuration, data and logs; defaults to
            `<state root>/<port>` (see `state_root`).
        version: the Kafka 4.x release to run.
        heap_mb: the JVM heap of each node, in MiB.

    Raises:
        ConfigurationError: `nodes` or `port` is out of range.
    """

    def __init__(
        self,
        nodes: int = 1,
        port: int = DEFAULT_PORT,
        state_dir: str | os.PathLike[str] | None = None,
        *,
        version: str = KAFKA_VERSION,
        heap_mb: int = 512,
    ) -> None:
        self._layout = layout(nodes, port)
        if heap_mb < 128:
            raise ConfigurationError(f"heap_mb must be at least 128, not {heap_mb}")
        self.nodes = nodes
        self.port = port
        self.version = version
        self.heap_mb = heap_mb
        self.state_dir = (
            Path(state_dir) if state_dir is not None else state_root() / str(port)
        )

    def __repr__(self) -> str:
        return (
            f"LocalCluster(nodes={self.nodes}, port={self.port}, "
            f"state_dir={str(self.state_dir)!r})"
        )

    @property
    def bootstrap_servers(self) -> str:
        """The bootstrap servers of this cluster, e.g. `127.0.0.1:9092`."""
        return bootstrap_servers(self._layout)

    def up(self, timeout: float = 60.0) -> str:
        """Start the cluster, or return at once if it is already running.

        Stale state (a JVM that was killed, a machine that rebooted) is cleaned up
        and the cluster started afresh. The first start downloads Kafka (see
        `provision`).

        Args:
            timeout: seconds for every node to become ready once launched; the
                one-time download and storage formatting are not counted.

        Returns:
            The bootstrap servers, e.g. `127.0.0.1:9092,127.0.0.1:9093,...`.

        Raises:
            JavaNotFoundError: no Java 17 or newer.
            MavenNotFoundError: Kafka is not cached and Maven is missing.
            ProvisioningError: Kafka could not be downloaded.
            PortInUseError: another process holds one of the ports.
            BrokerStartError: a node exited or was not ready in time; nothing
                started by this call is left running.
            LocalBrokerError: a cluster of another shape runs on this port.
        """
        with self._lock():
            state = load_state(self._state_file)
            health = self._assess(state)

            if health is Health.RUNNING and state is not None:
                if self._matches(state):
                    logger.debug("Kafka already running on %s", self.bootstrap_servers)
                    return self.bootstrap_servers
                raise LocalBrokerError(
                    f"a {len(state.nodes)}-node Kafka {state.kafka_version} cluster "
                    f"is already running on port {self.port}; stop it first with "
                    f"`kafka-utils broker down --port {self.port}`"
                )

            if health is not Health.ABSENT:
                logger.info(
                    "Kafka on port %d is no longer running (%s); starting afresh",
                    self.port,
                    health.value,
                )
                self._stop(state, timeout=5.0)
            self._clean()

            java = find_java()
            libs = provision(self.version)
            archives = prepare_archives(java, libs)
            self._check_ports_free()
            return self._start(java, libs, archives, timeout)

    def down(self, timeout: float = 15.0) -> bool:
        """Stop the cluster and delete its data, logs and configuration.

        Each JVM gets SIGTERM, then SIGKILL if it is still running after `timeout`.
        Stopping a cluster that is not running only removes leftover files.

        Args:
            timeout: seconds to wait for a clean shutdown before SIGKILL.

        Returns:
            True if running JVMs were stopped, False if none was running.
        """
        with self._lock():
            state = load_state(self._state_file)
            stopped = self._stop(state, timeout)
            self._clean()

        if stopped:
            logger.info("stopped Kafka on port %d (%d nodes)", self.port, len(stopped))
        return bool(stopped)

    def status(self) -> ClusterStatus:
        """Return whether the cluster runs, and the pid and health of each node."""
        state = load_state(self._state_file)
        if state is None:
            return ClusterStatus(
                running=False,
                port=self.port,
                bootstrap=None,
                nodes=(),
                cluster_id=None,
                kafka_version=None,
                state_dir=self.state_dir,
            )

        nodes = tuple(
            NodeStatus(
                node_id=node.node_id,
                port=node.port,
                controller_port=node.controller_port,
                pid=node.pid,
                alive=self._is_alive(node) and port_accepts(node.port),
            )
            for node in state.nodes
        )
        return ClusterStatus(
            running=bool(nodes) and all(node.alive for node in nodes),
            port=self.port,
            bootstrap=",".join(f"127.0.0.1:{node.port}" for node in state.nodes),
            nodes=nodes,
            cluster_id=state.cluster_id,
            kafka_version=state.kafka_version,
            state_dir=self.state_dir,
        )

    def log_path(self, node: int = 1) -> Path:
        """Return the path of a node's `broker.log` (which may not exist yet).

        Args:
            node: the node id, from 1.
        """
        return _startup.log_path(self.state_dir, node)

    def logs(self, node: int | None = None, lines: int = 100) -> str:
        """Return the last lines of the broker logs.

        Args:
            node: the node id (from 1), or None for every node, each section headed
                by `==> node N <==` when there are several.
            lines: how many lines per node.

        Raises:
            LocalBrokerError: there is no log, because nothing was started on this
                port or it was stopped (which deletes the logs).
        """
        if node is not None:
            path = self.log_path(node)
            if not path.is_file():
                raise LocalBrokerError(
                    f"no log for node {node} of the Kafka cluster on port {self.port}"
                )
            return tail(path, lines)

        paths = sorted(
            self.state_dir.glob("node-*/broker.log"),
            key=lambda path: int(path.parent.name.removeprefix("node-")),
        )
        if not paths:
            raise LocalBrokerError(
                f"no Kafka logs for port {self.port}: no cluster was started there, "
                "or it was stopped"
            )
        if len(paths) == 1:
            return tail(paths[0], lines)
        return "\n\n".join(
            f"==> {path.parent.name.replace('-', ' ')} <==\n{tail(path, lines)}"
            for path in paths
        )

    def shared(self, timeout: float = 60.0) -> AbstractContextManager[str]:
        """Use the cluster together with other processes, as test sessions do.

        On entry the cluster is started, or joined if it already runs. On exit it
        is stopped only when the last user leaves, and only if one of the users
        started it: a cluster started by hand is never stopped. Users are counted
        with lease files next to the state folder, so pytest-xdist workers or two
        test runs share one cluster safely.

        Args:
            timeout: passed to `up`.

        Returns:
            A context manager yielding the bootstrap servers.
        """
        return _lease.shared(self, timeout)

    @property
    def _state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    def _lock(self) -> AbstractContextManager[None]:
        """Serialise up/down of this cluster across processes."""
        lock = self.state_dir.with_name(f"{self.state_dir.name}.lock")
        return file_lock(
            lock, waiting_message=f"waiting for another kafka-utils on port {self.port}"
        )

    def _properties(self, node_id: int) -> Path:
        return _startup.properties_path(self.state_dir, node_id)

    def _is_alive(self, node: NodeState) -> bool:
        return is_broker_process(node.pid, self._properties(node.node_id))

    def _assess(self, state: ClusterState | None) -> Health:
        return assess(state, self._is_alive, lambda node: port_accepts(node.port))

    def _matches(self, state: ClusterState) -> bool:
        """True when the recorded cluster is the one this object describes."""
        recorded = tuple(
            NodePorts(node.node_id, node.port, node.controller_port)
            for node in state.nodes
        )
        return recorded == self._layout and state.kafka_version == self.version

    def _stop(self, state: ClusterState | None, timeout: float) -> list[int]:
        """Stop the recorded JVMs that still run; reap those we started."""
        if state is None:
            return []

        stopped = stop_processes(
            [(node.pid, self._properties(node.node_id)) for node in state.nodes],
            timeout,
        )
        for node in state.nodes:
            _startup.reap(node.pid)
        return stopped

    def _clean(self) -> None:
        """Delete the files this class writes, leaving any other file alone."""
        if not self.state_dir.is_dir():
            return

        for node_dir in self.state_dir.glob("node-*"):
            shutil.rmtree(node_dir, ignore_errors=True)
        for name in (STATE_FILE, "log4j2.yaml"):
            (self.state_dir / name).unlink(missing_ok=True)
        try:
            self.state_dir.rmdir()
        except OSError:
            logger.debug("keeping non-empty %s", self.state_dir)

    def _check_ports_free(self) -> None:
        for node in self._layout:
            for port in (node.port, node.controller_port):
                if not port_is_free(port):
                    raise PortInUseError(
                        f"port {port} is already in use by another process; stop it "
                        "or start Kafka on other ports with --port"
                    )

    def _start(self, java: Path, libs: Path, archives: Archives, timeout: float) -> str:
        """Write the configuration, format the storage, launch and await the JVMs."""
        logger.info(
            "starting Kafka %s: %d node(s) on %s",
            self.version,
            self.nodes,
            self.bootstrap_servers,
        )
        started = time.monotonic()
        cluster_id = new_cluster_id()
        log4j = _startup.write_configuration(self.state_dir, self._layout)
        _startup.format_storage(
            java, libs, log4j, self.state_dir, self._layout, cluster_id, archives.tool
        )

        # Record the pids as soon as the JVMs exist, so that a crash of this
        # process before they are ready still lets the next call clean them up.
        processes = [
            _startup.launch(
                java,
                libs,
                log4j,
                self.state_dir,
                node,
                heap_mb=self.heap_mb,
                archive=archives.broker,
            )
            for node in self._layout
        ]
        nodes = tuple(
            NodeState(node.node_id, node.port, node.controller_port, process.pid)
            for node, process in zip(self._layout, processes, strict=True)
        )
        state = ClusterState(self.version, cluster_id, self.port, nodes)
        save_state(self._state_file, state)

        try:
            _startup.await_ready(self.state_dir, self._layout, processes, timeout)
        except BaseException:
            # Nothing started here may outlive a failed start; the logs are kept
            # for `logs()` until the next up or down.
            _startup.kill(processes)
            raise

        logger.info(
            "Kafka %s started on %s in %.1f s",
            self.version,
            self.bootstrap_servers,
            time.monotonic() - started,
        )
        return self.bootstrap_servers
