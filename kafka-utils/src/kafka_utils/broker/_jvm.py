"""JVM command lines for Kafka, and class-data-sharing archives that start it faster.

Most of a broker's start is the JVM loading and verifying about 10,000 classes. A
dynamic AppCDS archive (JEP 350, Java 13+) records them once, so later JVMs map
them instead: on a two-core machine a node is ready in about 2.7 s instead of 4.7 s
and formatting takes 0.9 s instead of 1.6 s. The archives are made once per Java
runtime and Kafka version by a short training run (format, start, stop a throwaway
node). They are an optimisation only: when training fails, or the JVM rejects an
archive (a Java update), Kafka simply starts without one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kafka_utils.broker._config import (
    LOG4J2_YAML,
    NodePorts,
    new_cluster_id,
    render_server_properties,
)
from kafka_utils.broker._locks import file_lock

__all__ = ["Archives", "broker_command", "format_command", "prepare_archives"]

logger = logging.getLogger(__name__)

READY_MARKER = b"Kafka Server started"
TRAINING_TIMEOUT_SECONDS = 90.0

# The JVM flags of Kafka's own kafka-run-class.sh, plus exiting on OOM so a broken
# broker is seen as dead rather than hanging.
_BROKER_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

# StorageTool runs for a second: the C1 compiler alone starts it faster.
_TOOL_OPTIONS = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


@dataclass(frozen=True)
class Archives:
    """The class-data archives to start JVMs with (None: start without one)."""

    tool: Path | None = None
    broker: Path | None = None


def format_command(
    java: Path,
    libs: Path,
    log4j: Path,
    properties: Path,
    cluster_id: str,
    *,
    standalone: bool,
    archive: Path | None = None,
    record_archive: Path | None = None,
) -> list[str]:
    """Return the `kafka-storage format` command line for one node."""
    return [
        str(java),
        *_TOOL_OPTIONS,
        *_archive_options(archive, record_archive),
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        str(libs / "*"),
        "kafka.tools.StorageTool",
        "format",
        *(["--standalone"] if standalone else []),
        "-t",
        cluster_id,
        "-c",
        str(properties),
    ]


def broker_command(
    java: Path,
    libs: Path,
    log4j: Path,
    properties: Path,
    *,
    heap_mb: int,
    archive: Path | None = None,
    record_archive: Path | None = None,
) -> list[str]:
    """Return the command line of one broker JVM (`kafka.Kafka server.properties`)."""
    return [
        str(java),
        f"-Xms{heap_mb}m",
        f"-Xmx{heap_mb}m",
        *_BROKER_OPTIONS,
        *_archive_options(archive, record_archive),
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        str(libs / "*"),
        "kafka.Kafka",
        str(properties),
    ]


def prepare_archives(java: Path, libs: Path) -> Archives:
    """Return the class-data archives for this Java and Kafka, training them once.

    Never raises: a failed training is logged, remembered (so it is not retried on
    every start) and Kafka starts without archives.
    """
    directory = libs.parent / "cds"
    key = _runtime_key(java, libs)
    tool = directory / f"tool-{key}.jsa"
    broker = directory / f"broker-{key}.jsa"
    failed = directory / f"{key}.failed"
    if tool.is_file() and broker.is_file():
        return Archives(tool, broker)
    if failed.exists():
        return Archives()

    with file_lock(directory / ".lock", waiting_message="waiting for CDS training"):
        if not (tool.is_file() and broker.is_file()) and not failed.exists():
            try:
                _train(java, libs, tool, broker)
            except (OSError, subprocess.SubprocessError, RuntimeError) as error:
                logger.warning(
                    "Kafka will start without a class-data archive: %s", error
                )
                failed.write_text(f"{error}\n", encoding="utf-8")
    return Archives(
        tool if tool.is_file() else None, broker if broker.is_file() else None
    )


def _archive_options(archive: Path | None, record: Path | None) -> list[str]:
    if record is not None:
        return [f"-XX:ArchiveClassesAtExit={record}"]
    if archive is not None:
        return [f"-XX:SharedArchiveFile={archive}"]
    return []


def _runtime_key(java: Path, libs: Path) -> str:
    """A short hash naming the Java build and classpath an archive is valid for."""
    runtime = Path(os.path.realpath(java))
    stat = runtime.stat()
    text = f"{runtime}:{stat.st_size}:{stat.st_mtime_ns}:{libs}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _train(java: Path, libs: Path, tool: Path, broker: Path) -> None:
    """Format, start and stop a throwaway node, recording the classes it loads."""
    logger.info("preparing class-data archives so Kafka starts faster (once)")
    started = time.monotonic()
    tool.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="training-", dir=tool.parent))
    try:
        # Ephemeral ports the kernel reports free; a clash only fails the training.
        port, controller_port = _free_ports(2)
        node = NodePorts(node_id=1, port=port, controller_port=controller_port)
        log4j = workdir / "log4j2.yaml"
        log4j.write_text(LOG4J2_YAML, encoding="utf-8")
        properties = workdir / "server.properties"
        properties.write_text(
            render_server_properties(node, (node,), workdir / "data"), encoding="utf-8"
        )

        tool_recording = workdir / "tool.jsa"
        subprocess.run(
            format_command(
                java,
                libs,
                log4j,
                properties,
                new_cluster_id(),
                standalone=True,
                record_archive=tool_recording,
            ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TRAINING_TIMEOUT_SECONDS,
            check=True,
        )

        broker_recording = workdir / "broker.jsa"
        _run_broker_once(
            broker_command(
                java,
                libs,
                log4j,
                properties,
                heap_mb=512,
                record_archive=broker_recording,
            ),
            workdir / "broker.log",
        )

        # Renamed only when complete, so a reader never maps a half-written file.
        for recording, final in ((tool_recording, tool), (broker_recording, broker)):
            if not recording.is_file():
                raise RuntimeError(f"the JVM did not write {recording.name}")
            os.replace(recording, final)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    logger.info("class-data archives ready in %.1f s", time.monotonic() - started)


def _run_broker_once(command: list[str], log: Path) -> None:
    """Start a broker, wait until it has started, and stop it cleanly."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + TRAINING_TIMEOUT_SECONDS
        while READY_MARKER not in log.read_bytes():
            if process.poll() is not None:
                raise RuntimeError(f"the training broker exited ({process.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError("the training broker did not start in time")
            time.sleep(0.1)

        # The archive is written while the JVM exits, so it must exit normally.
        process.terminate()
        process.wait(timeout=TRAINING_TIMEOUT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _free_ports(count: int) -> list[int]:
    """Distinct ports the kernel reports free (all bound at once, then released)."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()
