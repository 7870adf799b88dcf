from __future__ import annotations

import sys
from pathlib import Path

from kafka_utils.broker._jvm import (
    Archives,
    _runtime_key,
    broker_command,
    format_command,
    prepare_archives,
)

JAVA = Path("/usr/bin/java")
LIBS = Path("/cache/kafka-4.4.0/libs")
LOG4J = Path("/state/log4j2.yaml")
PROPERTIES = Path("/state/node-1/server.properties")


def test_the_broker_runs_kafka_with_its_properties_and_heap() -> None:
    command = broker_command(JAVA, LIBS, LOG4J, PROPERTIES, heap_mb=512)

    assert command[0] == "/usr/bin/java"
    assert command[-2:] == ["kafka.Kafka", str(PROPERTIES)]
    assert "-Xms512m" in command
    assert "-Xmx512m" in command
    assert "-XX:+UseG1GC" in command
    assert command[command.index("-cp") + 1] == "/cache/kafka-4.4.0/libs/*"
    assert f"-Dlog4j2.configurationFile={LOG4J}" in command
    assert not any("SharedArchiveFile" in argument for argument in command)


def test_a_single_node_is_formatted_standalone() -> None:
    command = format_command(JAVA, LIBS, LOG4J, PROPERTIES, "ID", standalone=True)

    start = command.index("kafka.tools.StorageTool")
    assert command[start:] == [
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        "ID",
        "-c",
        str(PROPERTIES),
    ]


def test_nodes_of_a_static_quorum_are_formatted_plainly() -> None:
    command = format_command(JAVA, LIBS, LOG4J, PROPERTIES, "ID", standalone=False)

    assert "--standalone" not in command


def test_archives_are_used_or_recorded() -> None:
    archive = Path("/cache/cds/broker.jsa")

    using = broker_command(JAVA, LIBS, LOG4J, PROPERTIES, heap_mb=512, archive=archive)
    recording = broker_command(
        JAVA, LIBS, LOG4J, PROPERTIES, heap_mb=512, record_archive=archive
    )

    assert f"-XX:SharedArchiveFile={archive}" in using
    assert f"-XX:ArchiveClassesAtExit={archive}" in recording
    assert not any("SharedArchiveFile" in argument for argument in recording)


def test_a_failed_training_is_not_retried(tmp_path: Path) -> None:
    java = Path(sys.executable)
    libs = tmp_path / "libs"
    libs.mkdir()
    cds = tmp_path / "cds"
    cds.mkdir()
    (cds / f"{_runtime_key(java, libs)}.failed").write_text("boom\n")

    assert prepare_archives(java, libs) == Archives()


def test_existing_archives_are_returned_without_training(tmp_path: Path) -> None:
    java = Path(sys.executable)
    libs = tmp_path / "libs"
    libs.mkdir()
    key = _runtime_key(java, libs)
    cds = tmp_path / "cds"
    cds.mkdir()
    (cds / f"tool-{key}.jsa").touch()
    (cds / f"broker-{key}.jsa").touch()

    assert prepare_archives(java, libs) == Archives(
        cds / f"tool-{key}.jsa", cds / f"broker-{key}.jsa"
    )
