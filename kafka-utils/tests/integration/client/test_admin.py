"""AsyncAdmin against a real broker: topics, groups, lag, offset resets, records."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from kafka_utils._records import OffsetReset, PartitionLag, ResetTarget, Shift
from kafka_utils.client._lifecycle import ClientState
from kafka_utils.client.admin import AsyncAdmin
from kafka_utils.errors import (
    BrokerUnavailableError,
    ClientClosedError,
    ConfigurationError,
    GroupNotFoundError,
    KafkaBrokerError,
    TopicAlreadyExistsError,
    UnknownTopicError,
)
from kafka_utils.settings import KafkaSettings
from kafka_utils.testing import TopicNameFactory

# --- helpers: plain confluent-kafka clients, independent of the code under test


def produce(
    bootstrap: str,
    topic: str,
    counts: dict[int, int],
    *,
    first_timestamp_ms: int | None = None,
) -> None:
    """Write counts[p] records to each partition p; record i gets first + i s."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, count in counts.items():
        for index in range(count):
            timestamp = 0
            if first_timestamp_ms is not None:
                timestamp = first_timestamp_ms + index * 1000
            producer.produce(
                topic, value=b"%d" % index, partition=partition, timestamp=timestamp
            )
    assert producer.flush(15) == 0


def group_consumer(bootstrap: str, group: str, **extra: object) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **extra,
        }
    )


def consume_and_commit(
    bootstrap: str, group: str, topic: str, counts: dict[int, int]
) -> None:
    """Read counts[p] records of each partition p from the start, then commit."""
    consumer = group_consumer(bootstrap, group)
    consumer.assign([TopicPartition(topic, partition, 0) for partition in counts])
    read = dict.fromkeys(counts, 0)
    deadline = time.monotonic() + 20
    while any(read[p] < counts[p] for p in counts) and time.monotonic() < deadline:
        for message in consumer.consume(100, 0.5):
            partition = message.partition()
            assert message.error() is None and partition is not None
            if read[partition] < counts[partition]:
                read[partition] += 1

    assert read == counts
    consumer.commit(
        offsets=[TopicPartition(topic, p, count) for p, count in counts.items()],
        asynchronous=False,
    )
    consumer.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offsets, as a consumer of the group sees them."""
    consumer = group_consumer(bootstrap, group)
    try:
        result = consumer.committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=10
        )
        return [tp.offset for tp in result]
    finally:
        consumer.close()


@pytest.fixture
async def admin(kafka_settings: KafkaSettings) -> AsyncIterator[AsyncAdmin]:
    async with AsyncAdmin(kafka_settings, request_timeout=20) as client:
        yield client


@pytest.fixture
def group(topic_name: str) -> str:
    return f"group-{topic_name}"


# --- lifecycle


async def test_unreachable_bootstrap_fails_fast_with_broker_unavailable() -> None:
    admin = AsyncAdmin(
        KafkaSettings(bootstrap_servers="127.0.0.1:1"), connect_timeout=2
    )
    started = time.monotonic()

    with pytest.raises(BrokerUnavailableError, match=r"127\.0\.0\.1:1"):
        await admin.start()

    assert time.monotonic() - started < 5
    assert admin.state is ClientState.CLOSED


async def test_requests_need_a_started_admin(kafka_settings: KafkaSettings) -> None:
    admin = AsyncAdmin(kafka_settings)
    with pytest.raises(ClientClosedError, match="not started"):
        await admin.list_topics()

    await admin.start()
    states = [admin.state]
    await admin.close()
    await admin.close()
    states.append(admin.state)

    assert states == [ClientState.STARTED, ClientState.CLOSED]
    with pytest.raises(ClientClosedError, match="closed"):
        await admin.list_topics()


# --- topics


async def test_create_describe_list_delete_topic(
    admin: AsyncAdmin, topic_name: str
) -> None:
    await admin.create_topic(
        topic_name, partitions=3, config={"cleanup.policy": "compact"}
    )

    assert topic_name in await admin.list_topics()
    info = await admin.describe_topic(topic_name)
    assert info.name == topic_name
    assert [p.partition for p in info.partitions] == [0, 1, 2]
    assert all(p.leader >= 0 for p in info.partitions)
    assert all(
        p.replicas == (p.leader,) and p.isr == (p.leader,) for p in info.partitions
    )
    assert info.replication_factor == 1
    assert info.configs["cleanup.policy"] == "compact"
    assert "segment.bytes" not in info.configs  # defaults are left out
    everything = await admin.describe_topic(topic_name, all_configs=True)
    assert everything.configs["segment.bytes"] is not None

    await admin.delete_topic(topic_name)

    assert topic_name not in await admin.list_topics()
    with pytest.raises(UnknownTopicError):
        await admin.describe_topic(topic_name)


async def test_internal_topics_are_listed_only_on_request(
    admin: AsyncAdmin, kafka_bootstrap: str, topic_name: str, group: str
) -> None:
    # Committing an offset makes sure __consumer_offsets exists.
    await admin.create_topic(topic_name)
    produce(kafka_bootstrap, topic_name, {0: 1})
    consume_and_commit(kafka_bootstrap, group, topic_name, {0: 1})

    assert "__consumer_offsets" not in await admin.list_topics()
    assert "__consumer_offsets" in await admin.list_topics(include_internal=True)


async def test_a_created_topic_can_be_written_at_once(
    admin: AsyncAdmin, kafka_bootstrap: str, topic_name: str
) -> None:
    await admin.create_topic(topic_name, partitions=4)

    produce(kafka_bootstrap, topic_name, {0: 1, 1: 1, 2: 1, 3: 1})


async def test_alter_topic_config_is_visible_in_describe(
    admin: AsyncAdmin, topic_name: str
) -> None:
    await admin.create_topic(topic_name, config={"retention.ms": "3600000"})

    await admin.alter_topic_config(topic_name, {"max.message.bytes": "2097152"})

    configs = (await admin.describe_topic(topic_name)).configs
    assert configs["max.message.bytes"] == "2097152"
    assert configs["retention.ms"] == "3600000"  # incremental: the rest stays


async def test_alter_topic_config_rejects_an_unknown_config(
    admin: AsyncAdmin, topic_name: str
) -> None:
    await admin.create_topic(topic_name)

    with pytest.raises(ConfigurationError, match=r"no\.such\.config"):
        await admin.alter_topic_config(topic_name, {"no.such.config": "1"})


async def test_create_partitions_grows_the_topic(
    admin: AsyncAdmin, kafka_bootstrap: str, topic_name: str
) -> None:
    await admin.create_topic(topic_name, partitions=2)

    await admin.create_partitions(topic_name, 5)

    info = await admin.describe_topic(topic_name)
    assert [p.partition for p in info.partitions] == [0, 1, 2, 3, 4]
    produce(kafka_bootstrap, topic_name, {4: 1})
    with pytest.raises(ConfigurationError, match="INVALID_PARTITIONS"):
        await admin.create_partitions(topic_name, 3)


async def test_creating_an_existing_topic_raises_topic_already_exists(
    admin: AsyncAdmin, topic_name: str
) -> None:
    await admin.create_topic(topic_name)

    with pytest.raises(TopicAlreadyExistsError, match=topic_name):
        await admin.create_topic(topic_name)


async def test_deleting_an_unknown_topic_raises_unknown_topic(
    admin: AsyncAdmin, topic_name: str
) -> None:
    with pytest.raises(UnknownTopicError, match=topic_name):
        await admin.delete_topic(topic_name)


async def test_replication_factor_above_the_broker_count_is_a_configuration_error(
    admin: AsyncAdmin, topic_name: str
) -> None:
    with pytest.raises(ConfigurationError, match="INVALID_REPLICATION_FACTOR"):
        await admin.create_topic(topic_name, replication_factor=7)

    assert topic_name not in await admin.list_topics()


async def test_non_positive_partitions_are_refused_before_any_request(
    admin: AsyncAdmin, topic_name: str
) -> None:
    with pytest.raises(ConfigurationError, match="partitions"):
        await admin.create_topic(topic_name, partitions=0)


async def test_delete_records_moves_the_low_watermark(
    admin: AsyncAdmin, kafka_bootstrap: str, topic_name: str, group: str
) -> None:
    await admin.create_topic(topic_name, partitions=2)
    produce(kafka_bootstrap, topic_name, {0: 30, 1: 10})

    low = await admin.delete_records(topic_name, {0: 20, 1: -1})

    assert low == {0: 20, 1: 10}
    # Nothing committed: lag counts what is still stored.
    assert [row.lag for row in await admin.lag(group, [topic_name])] == [10, 0]
    with pytest.raises(KafkaBrokerError, match="OFFSET_OUT_OF_RANGE"):
        await admin.delete_records(topic_name, {0: 500})


# --- lag


async def test_lag_is_exact_after_a_partial_consume(
    admin: AsyncAdmin, kafka_bootstrap: str, make_topic_name: TopicNameFactory
) -> None:
    topic, other = make_topic_name("read"), make_topic_name("unread")
    group = f"group-{topic}"
    await admin.create_topic(topic, partitions=2)
    await admin.create_topic(other, partitions=1)
    produce(kafka_bootstrap, topic, {0: 60, 1: 40})
    produce(kafka_bootstrap, other, {0: 7})

    consume_and_commit(kafka_bootstrap, group, topic, {0: 25, 1: 10})

    assert await admin.lag(group) == [
        PartitionLag(topic, 0, 25, 60, 35),
        PartitionLag(topic, 1, 10, 40, 30),
    ]
    rows = await admin.lag(group, [other, topic])
    assert [(row.topic, row.partition, row.lag) for row in rows] == sorted(
        [(topic, 0, 35), (topic, 1, 30), (other, 0, 7)]
    )
    assert rows[[row.topic for row in rows].index(other)].committed_offset is None
    assert await admin.lag(group, topic) == await admin.lag(group, [topic])


async def test_lag_reports_every_partition_of_a_topic_the_group_committed_to(
    admin: AsyncAdmin, kafka_bootstrap: str, topic_name: str, group: str
) -> None:
    await admin.create_topic(topic_name, partitions=3)
    produce(kafka_bootstrap, topic_name, {0: 5, 1: 6, 2: 7})

    consume_and_commit(kafka_bootstrap, group, topic_name, {1: 2})

    assert await admin.lag(group) == [
        PartitionLag(topic_name, 0, None, 5, 5),
        PartitionLag(topic_name, 1, 2, 6, 4),
        PartitionLag(topic_name, 2, None, 7, 7),
    ]


async def test_lag_of_an_unknown_group_or_topic(
    admin: AsyncAdmin, topic_name: str, group: str
) -> None:
    assert await admin.lag(group) == []
    with pytest.raises(UnknownTopicError, match=topic_name):
        await admin.lag(group, [topic_name])


# --- offset resets


@dataclass
class ResetScene:
    topic: str
    group: str
    first_timestamp: datetime


@pytest.fixture
async def scene(
    admin: AsyncAdmin, kafka_bootstrap: str, topic_name: str, group: str
) -> ResetScene:
    """Two partitions of 50 records, one a second apart; committed 20 and 30."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await admin.create_topic(topic_name, partitions=2)
    produce(
        kafka_bootstrap,
        topic_name,
        {0: 50, 1: 50},
        first_timestamp_ms=int(first.timestamp() * 1000),
    )
    consume_and_commit(kafka_bootstrap, group, topic_name, {0: 20, 1: 30})
    return ResetScene(topic_name, group, first)


RESETS: list[tuple[str, ResetTarget | timedelta, list[int]]] = [
    ("earliest", "earliest", [0, 0]),
    ("latest", "latest", [50, 50]),
    ("offset", 40, [40, 40]),
    ("offset-clamped", 1000, [50, 50]),
    ("shift-back", Shift(-10), [10, 20]),
    ("shift-ahead-clamped", Shift(25), [45, 50]),
    ("timestamp", timedelta(seconds=10.5), [11, 11]),
    ("timestamp-after-last-record", timedelta(days=1), [50, 50]),
]


def _target(scene: ResetScene, spec: ResetTarget | timedelta) -> ResetTarget:
    """A timedelta in RESETS means 'that long after the first record'."""
    if isinstance(spec, timedelta):
        return scene.first_timestamp + spec
    return spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [pytest.param(spec, expected, id=name) for name, spec, expected in RESETS],
)
async def test_reset_dry_run_plans_and_changes_nothing(
    admin: AsyncAdmin,
    kafka_bootstrap: str,
    scene: ResetScene,
    spec: ResetTarget | timedelta,
    expected: list[int],
) -> None:
    plan = await admin.reset_offsets(scene.group, scene.topic, _target(scene, spec))

    assert plan == [
        OffsetReset(scene.topic, 0, 20, expected[0]),
        OffsetReset(scene.topic, 1, 30, expected[1]),
    ]
    assert committed(kafka_bootstrap, scene.group, scene.topic, 2) == [20, 30]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [pytest.param(spec, expected, id=name) for name, spec, expected in RESETS],
)
async def test_reset_moves_the_group(
    admin: AsyncAdmin,
    kafka_bootstrap: str,
    scene: ResetScene,
    spec: ResetTarget | timedelta,
    expected: list[int],
) -> None:
    plan = await admin.reset_offsets(
        scene.group, scene.topic, _target(scene, spec), dry_run=False
    )

    assert [row.new_offset for row in plan] == expected
    assert committed(kafka_bootstrap, scene.group, scene.topic, 2) == expected
    lags = [row.lag for row in await admin.lag(scene.group)]
    assert lags == [50 - offset for offset in expected]


async def test_reset_of_chosen_partitions_leaves_the_others(
    admin: AsyncAdmin, kafka_bootstrap: str, scene: ResetScene
) -> None:
    plan = await admin.reset_offsets(
        scene.group, scene.topic, "earliest", partitions=[1], dry_run=False
    )

    assert plan == [OffsetReset(scene.topic, 1, 30, 0)]
    assert committed(kafka_bootstrap, scene.group, scene.topic, 2) == [20, 0]


async def test_reset_of_a_missing_partition_or_topic_is_refused(
    admin: AsyncAdmin, scene: ResetScene, make_topic_name: TopicNameFactory
) -> None:
    with pytest.raises(UnknownTopicError, match="no partition 7"):
        await admin.reset_offsets(scene.group, scene.topic, "earliest", partitions=[7])
    with pytest.raises(UnknownTopicError):
        await admin.reset_offsets(scene.group, make_topic_name("absent"), "earliest")
    with pytest.raises(ConfigurationError, match="reset target"):
        await admin.reset_offsets(scene.group, scene.topic, -3)


@pytest.fixture
def active_member(kafka_bootstrap: str, scene: ResetScene) -> Iterator[Consumer]:
    """A consumer of the scene's group, subscribed and assigned both partitions."""
    consumer = group_consumer(
        kafka_bootstrap, scene.group, **{"client.id": "busy-member"}
    )
    consumer.subscribe([scene.topic])
    deadline = time.monotonic() + 30
    while len(consumer.assignment()) < 2 and time.monotonic() < deadline:
        consumer.poll(0.2)
    assert len(consumer.assignment()) == 2
    yield consumer
    consumer.close()


async def test_reset_with_an_active_member_is_refused(
    admin: AsyncAdmin,
    kafka_bootstrap: str,
    scene: ResetScene,
    active_member: Consumer,
) -> None:
    plan = await admin.reset_offsets(scene.group, scene.topic, "earliest")
    assert [row.new_offset for row in plan] == [0, 0]  # a dry run is allowed

    with pytest.raises(KafkaBrokerError, match=r"active member.*busy-member") as caught:
        await admin.reset_offsets(scene.group, scene.topic, "earliest", dry_run=False)

    assert caught.value.code == "NON_EMPTY_GROUP"
    active_member.close()
    assert committed(kafka_bootstrap, scene.group, scene.topic, 2) == [20, 30]


# --- groups


async def test_describe_list_and_delete_group(
    admin: AsyncAdmin, scene: ResetScene, active_member: Consumer
) -> None:
    info = await admin.describe_group(scene.group)

    assert info.group_id == scene.group
    assert info.state == "STABLE"
    assert info.assignor == "range"
    assert info.coordinator is not None
    [member] = info.members
    assert member.client_id == "busy-member"
    assert {(tp.topic, tp.partition) for tp in member.assignment} == {
        (scene.topic, 0),
        (scene.topic, 1),
    }
    listed = {listing.group_id: listing for listing in await admin.list_groups()}
    assert listed[scene.group].state == "STABLE"
    with pytest.raises(KafkaBrokerError, match="NON_EMPTY_GROUP"):
        await admin.delete_group(scene.group)

    active_member.close()
    assert (await admin.describe_group(scene.group)).state == "EMPTY"
    await admin.delete_group(scene.group)

    with pytest.raises(GroupNotFoundError):
        await admin.describe_group(scene.group)
    with pytest.raises(GroupNotFoundError):
        await admin.delete_group(scene.group)
    assert scene.group not in {g.group_id for g in await admin.list_groups()}


# --- three nodes


@pytest.mark.cluster
async def test_replicated_topic_on_three_nodes(
    kafka_cluster_bootstrap: str, topic_name: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka_cluster_bootstrap)
    async with AsyncAdmin(settings) as admin:
        await admin.create_topic(topic_name, partitions=3, replication_factor=3)
        info = await admin.describe_topic(topic_name)

        assert info.replication_factor == 3
        for partition in info.partitions:
            assert sorted(partition.replicas) == sorted(partition.isr)
            assert len(partition.isr) == 3
            assert partition.leader in partition.replicas
        produce(kafka_cluster_bootstrap, topic_name, {0: 1, 1: 1, 2: 1})

        await admin.delete_topic(topic_name)
