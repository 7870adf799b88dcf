"""`kafka-utils topics` and `kafka-utils groups` against a real broker."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from confluent_kafka import Consumer, Producer, TopicPartition

from kafka_utils.cli import cli

# Wide enough that rich never folds a table cell in the assertions below.
ENV = {"COLUMNS": "250", "KAFKA_BOOTSTRAP_SERVERS": None}


@pytest.fixture
def run() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, bootstrap: str, *args: str, stdin: str = "") -> Result:
    return runner.invoke(
        cli, [*args, "--bootstrap-servers", bootstrap], env=ENV, input=stdin
    )


def produce(bootstrap: str, topic: str, counts: dict[int, int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, count in counts.items():
        for index in range(count):
            producer.produce(topic, value=b"%d" % index, partition=partition)
    assert producer.flush(15) == 0


def commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    consumer.commit(
        offsets=[TopicPartition(topic, p, offset) for p, offset in offsets.items()],
        asynchronous=False,
    )
    consumer.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        result = consumer.committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=10
        )
        return [tp.offset for tp in result]
    finally:
        consumer.close()


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code not in (0, None)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_topic_lifecycle(run: CliRunner, kafka_bootstrap: str, topic_name: str) -> None:
    created = invoke(
        run, kafka_bootstrap, "topics", "create", topic_name,
        "--partitions", "2", "--config", "retention.ms=60000",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert f"Created topic {topic_name} (2 partition(s)" in created.stderr

    listed = invoke(run, kafka_bootstrap, "topics", "list")
    assert listed.exit_code == 0
    assert topic_name in listed.stdout

    altered = invoke(
        run, kafka_bootstrap, "topics", "alter-config", topic_name,
        "max.message.bytes=2097152",
    )  # fmt: skip
    assert altered.exit_code == 0, altered.output

    described = invoke(run, kafka_bootstrap, "topics", "describe", topic_name)
    assert described.exit_code == 0, described.output
    assert "retention.ms" in described.stdout
    assert "60000" in described.stdout
    assert "2097152" in described.stdout
    assert "in-sync replicas" in described.stdout

    kept = invoke(run, kafka_bootstrap, "topics", "delete", topic_name, stdin="n\n")
    assert kept.exit_code != 0
    assert topic_name in invoke(run, kafka_bootstrap, "topics", "list").stdout

    deleted = invoke(run, kafka_bootstrap, "topics", "delete", topic_name, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert topic_name not in invoke(run, kafka_bootstrap, "topics", "list").stdout


def test_unknown_topic_is_one_line_and_a_non_zero_exit(
    run: CliRunner, kafka_bootstrap: str, topic_name: str
) -> None:
    result = invoke(run, kafka_bootstrap, "topics", "describe", topic_name)

    assert_one_line_error(result, topic_name)


def test_existing_topic_is_one_line_and_a_non_zero_exit(
    run: CliRunner, kafka_bootstrap: str, topic_name: str
) -> None:
    assert invoke(run, kafka_bootstrap, "topics", "create", topic_name).exit_code == 0

    result = invoke(run, kafka_bootstrap, "topics", "create", topic_name)

    assert_one_line_error(result, "TOPIC_ALREADY_EXISTS")


def test_malformed_config_is_a_usage_error(
    run: CliRunner, kafka_bootstrap: str, topic_name: str
) -> None:
    result = invoke(
        run, kafka_bootstrap, "topics", "create", topic_name, "--config", "oops"
    )

    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr


def test_unreachable_cluster_is_one_line_and_exit_3(run: CliRunner) -> None:
    result = invoke(run, "127.0.0.1:1", "topics", "list")

    assert_one_line_error(result, "cannot reach Kafka at 127.0.0.1:1")
    assert result.exit_code == 3


def test_lag_and_reset_offsets(
    run: CliRunner, kafka_bootstrap: str, topic_name: str
) -> None:
    group = f"group-{topic_name}"
    assert (
        invoke(run, kafka_bootstrap, "topics", "create", topic_name, "-p", "2")
    ).exit_code == 0
    produce(kafka_bootstrap, topic_name, {0: 30, 1: 20})
    commit(kafka_bootstrap, group, topic_name, {0: 10, 1: 20})

    lag = invoke(run, kafka_bootstrap, "groups", "lag", group)
    assert lag.exit_code == 0, lag.output
    rows = [line.split() for line in lag.stdout.splitlines() if topic_name in line]
    assert [[cell for cell in row if cell.isdigit()] for row in rows] == [
        ["0", "10", "30", "20"],
        ["1", "20", "20", "0"],
    ]
    assert "total lag: 20" in lag.stdout

    planned = invoke(
        run, kafka_bootstrap, "groups", "reset-offsets", group,
        "--topic", topic_name, "--shift", "-5",
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    assert "dry run" in planned.stdout
    assert committed(kafka_bootstrap, group, topic_name, 2) == [10, 20]

    applied = invoke(
        run, kafka_bootstrap, "groups", "reset-offsets", group,
        "--topic", topic_name, "--to", "earliest", "--partition", "1", "--execute",
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert "applied" in applied.stdout
    assert committed(kafka_bootstrap, group, topic_name, 2) == [10, 0]


def test_reset_offsets_needs_exactly_one_target(
    run: CliRunner, kafka_bootstrap: str, topic_name: str
) -> None:
    both = invoke(
        run, kafka_bootstrap, "groups", "reset-offsets", "g",
        "--topic", topic_name, "--to", "latest", "--shift", "3",
    )  # fmt: skip
    wrong = invoke(
        run, kafka_bootstrap, "groups", "reset-offsets", "g",
        "--topic", topic_name, "--to", "yesterday",
    )  # fmt: skip

    assert both.exit_code == 2
    assert "exactly one" in both.stderr
    assert wrong.exit_code == 2
    assert "yesterday" in wrong.stderr


def test_describe_list_and_delete_group(
    run: CliRunner, kafka_bootstrap: str, topic_name: str
) -> None:
    group = f"group-{topic_name}"
    assert invoke(run, kafka_bootstrap, "topics", "create", topic_name).exit_code == 0
    commit(kafka_bootstrap, group, topic_name, {0: 0})

    described = invoke(run, kafka_bootstrap, "groups", "describe", group)
    assert described.exit_code == 0, described.output
    assert "EMPTY" in described.stdout
    listed = invoke(run, kafka_bootstrap, "groups", "list")
    assert group in listed.stdout

    deleted = invoke(run, kafka_bootstrap, "groups", "delete", group, "--yes")
    assert deleted.exit_code == 0, deleted.output

    missing = invoke(run, kafka_bootstrap, "groups", "describe", group)
    assert_one_line_error(missing, group, "does not exist")
