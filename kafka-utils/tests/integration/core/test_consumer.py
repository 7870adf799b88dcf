from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from kafka_utils import (
    AsyncConsumer,
    AsyncProducer,
    ConsumerRecord,
    JsonSerializer,
    KafkaSettings,
    PydanticSerializer,
    RebalanceCallback,
    SerializationError,
    TopicPartition,
    UnknownTopicError,
)

from .conftest import TopicFactory


async def produce(
    settings: KafkaSettings, topic: str, count: int, partition: int | None = None
) -> None:
    async with AsyncProducer(settings) as producer:
        futures = [
            producer.send_nowait(topic, b"%d" % i, key=b"%d" % i, partition=partition)
            for i in range(count)
        ]
        await asyncio.gather(*futures)


async def take(
    consumer: AsyncConsumer[bytes, bytes], count: int, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        records += await consumer.getmany(max_records=count - len(records), timeout=1)
    return records


async def test_stored_offsets_are_committed_and_the_rest_is_read_again(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    await produce(kafka_settings, topic, 10)
    tp = TopicPartition(topic, 0)

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        records = await take(consumer, 10)
        for record in records[:4]:
            consumer.store(record)
        await consumer.commit()
        assert await consumer.committed([tp]) == {tp: 4}

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        again = await take(consumer, 6)
    assert [r.offset for r in again] == [4, 5, 6, 7, 8, 9]


async def test_stored_offsets_are_committed_on_close(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    await produce(kafka_settings, topic, 5)

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        for record in await take(consumer, 5):
            consumer.store(record)

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        tp = TopicPartition(topic, 0)
        assert await consumer.committed([tp]) == {tp: 5}


async def test_async_iteration_yields_records_in_order(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    await produce(kafka_settings, topic, 1200)

    seen = []
    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        async for record in consumer:
            seen.append(record.offset)
            if len(seen) == 1200:
                break
    assert seen == list(range(1200))


async def test_seek_position_and_watermarks(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    await produce(kafka_settings, topic, 50)
    tp = TopicPartition(topic, 0)

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        await take(consumer, 20)
        assert await consumer.position(tp) == 20
        assert await consumer.watermarks(tp) == (0, 50)

        await consumer.seek(tp, 45)
        records = await take(consumer, 5)
        assert [r.offset for r in records] == [45, 46, 47, 48, 49]
        assert consumer.assignment() == {tp}


async def test_seek_to_timestamp_finds_the_first_later_record(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    tp = TopicPartition(topic, 0)
    base = int(time.time() * 1000) - 60_000
    async with AsyncProducer(kafka_settings) as producer:
        for i in range(10):
            await producer.send(topic, b"%d" % i, timestamp_ms=base + i * 1000)

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        await take(consumer, 10)
        result = await consumer.seek_to_timestamp(base + 6_500, [tp])
        assert result == {tp: 7}
        records = await take(consumer, 3)
    assert [r.offset for r in records] == [7, 8, 9]
    assert records[0].timestamp_ms == base + 7_000


async def test_paused_partitions_return_nothing_until_resumed(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic(partitions=2)
    await produce(kafka_settings, topic, 200, partition=0)
    await produce(kafka_settings, topic, 200, partition=1)
    paused = TopicPartition(topic, 0)

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic, batch_size=10
    ) as consumer:
        first = await take(consumer, 5)
        await consumer.pause(paused)
        during = await take(consumer, 400, timeout=4)
        await consumer.resume(paused)
        after = await take(consumer, 400, timeout=10)

    assert all(r.partition == 1 for r in during)
    read = first + during + after
    by_partition = {p: [r.offset for r in read if r.partition == p] for p in (0, 1)}
    # Nothing lost and nothing twice across the pause.
    assert by_partition[0] == list(range(200))
    assert by_partition[1] == list(range(200))


async def test_pausing_a_partition_before_reading_it_loses_nothing(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic(partitions=2)
    await produce(kafka_settings, topic, 300, partition=0)
    await produce(kafka_settings, topic, 300, partition=1)
    paused = TopicPartition(topic, 0)

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic, batch_size=50
    ) as consumer:
        await wait_for(lambda: len(consumer.assignment()) == 2)
        # Let the fetch thread buffer records of both partitions, unread.
        await asyncio.sleep(1.0)
        await consumer.pause(paused)
        during = await take(consumer, 600, timeout=4)
        await consumer.resume(paused)
        after = await take(consumer, 600, timeout=10)

    assert {r.partition for r in during} == {1}
    offsets = sorted((r.partition, r.offset) for r in during + after)
    assert offsets == [(p, o) for p in (0, 1) for o in range(300)]


async def test_iteration_positions_survive_a_pause_in_the_middle_of_a_batch(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    """Positions of iterated records are noted lazily; pause must still see them."""
    topic = await new_topic(partitions=2)
    await produce(kafka_settings, topic, 200, partition=0)
    await produce(kafka_settings, topic, 200, partition=1)
    paused = TopicPartition(topic, 0)
    read: list[tuple[int, int]] = []

    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic, batch_size=100
    ) as consumer:
        await wait_for(lambda: len(consumer.assignment()) == 2)
        await asyncio.sleep(1.0)
        async for record in consumer:
            read.append((record.partition, record.offset))
            if len(read) == 30:
                break
        for partition in (0, 1):
            offsets = [o for p, o in read if p == partition]
            expected = offsets[-1] + 1 if offsets else None
            if expected is not None:
                position = await consumer.position(TopicPartition(topic, partition))
                assert position == expected

        await consumer.pause(paused)
        during = await take(consumer, 400, timeout=4)
        await consumer.resume(paused)
        after = await take(consumer, 400, timeout=10)

    assert {r.partition for r in during} <= {1}
    read += [(r.partition, r.offset) for r in during + after]
    assert sorted(read) == [(p, o) for p in (0, 1) for o in range(200)]


async def test_undecodable_value_is_reported_with_its_location(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    async with AsyncProducer(kafka_settings) as producer:
        await producer.send(topic, b'{"n": 1}')
        await producer.send(topic, b"not json")
        await producer.send(topic, b'{"n": 3}')

    async with AsyncConsumer(
        topic, settings=kafka_settings, value_serializer=JsonSerializer()
    ) as consumer:
        good: list[ConsumerRecord[bytes, object]] = []
        good += await consumer.getmany(timeout=10)
        with pytest.raises(SerializationError) as caught:
            for _ in range(10):
                good += await consumer.getmany(timeout=2)
        after = await consumer.getmany(timeout=5)

    assert [r.value for r in good] == [{"n": 1}]
    assert (caught.value.topic, caught.value.partition, caught.value.offset) == (
        topic,
        0,
        1,
    )
    assert [r.value for r in after] == [{"n": 3}]


class Order(BaseModel):
    id: int
    item: str


async def test_pydantic_models_round_trip(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    serializer = PydanticSerializer(Order)

    async with AsyncProducer(kafka_settings, value_serializer=serializer) as producer:
        await producer.send(topic, Order(id=1, item="book"))

    async with AsyncConsumer(
        topic, settings=kafka_settings, value_serializer=serializer
    ) as consumer:
        records = await consumer.getmany(timeout=10)
    assert [r.value for r in records] == [Order(id=1, item="book")]


async def test_subscribing_to_an_unknown_topic_is_a_typed_error(
    kafka_settings: KafkaSettings, make_topic_name: object
) -> None:
    async with AsyncConsumer("missing-topic-x2", settings=kafka_settings) as consumer:
        with pytest.raises(UnknownTopicError, match="missing-topic-x2"):
            for _ in range(20):
                await consumer.getmany(timeout=1)


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
async def test_two_members_share_the_partitions_and_callbacks_run(
    kafka_settings: KafkaSettings, new_topic: TopicFactory, protocol: str
) -> None:
    topic = await new_topic(partitions=4)
    events: list[tuple[str, str, frozenset[int]]] = []

    def recorder(member: str, event: str) -> RebalanceCallback:
        async def record(partitions: list[TopicPartition]) -> None:
            events.append((member, event, frozenset(p.partition for p in partitions)))

        return record

    def member(name: str) -> AsyncConsumer[bytes, bytes]:
        return AsyncConsumer(
            topic,
            settings=kafka_settings,
            group_id=topic,
            group_protocol=protocol,
            on_assigned=recorder(name, "assigned"),
            on_revoked=recorder(name, "revoked"),
        )

    async with member("a") as first:
        await wait_for(lambda: len(first.assignment()) == 4)
        async with member("b") as second:
            await wait_for(
                lambda: (
                    len(first.assignment()) + len(second.assignment()) == 4
                    and len(second.assignment()) > 0
                ),
                poll=[first, second],
            )
            assert first.assignment().isdisjoint(second.assignment())

    assigned_to_a = set().union(
        *(p for m, e, p in events if (m, e) == ("a", "assigned"))
    )
    assert assigned_to_a == {0, 1, 2, 3}
    assert any(m == "a" and e == "revoked" and p for m, e, p in events)


async def test_a_rebalance_served_by_the_fetching_loop_commits_what_was_stored(
    kafka_settings: KafkaSettings,
    new_topic: TopicFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Without rebalance callbacks the loop fetches for itself while records flow,
    # so a rebalance arrives inside its consume(), on the loop thread. A member
    # that stores every record it reads must commit them there, before the
    # partitions move: the second member then starts exactly where it left off.
    topic = await new_topic(partitions=4)
    await produce(kafka_settings, topic, 20_000)
    caplog.set_level(logging.INFO, logger="kafka_utils.client.consumer")
    seen: dict[str, list[tuple[int, int]]] = {"a": [], "b": []}

    async def read_some(name: str, consumer: AsyncConsumer[bytes, bytes]) -> None:
        for record in await consumer.getmany(max_records=50, timeout=0.1):
            seen[name].append((record.partition, record.offset))
            consumer.store(record)

    def member() -> AsyncConsumer[bytes, bytes]:
        return AsyncConsumer(topic, settings=kafka_settings, group_id=topic)

    async with member() as first:
        while len(seen["a"]) < 1_000:
            await read_some("a", first)
        async with member() as second:
            deadline = time.monotonic() + 60
            while len(seen["a"]) + len(seen["b"]) < 20_000:
                assert time.monotonic() < deadline, "the two members stalled"
                await read_some("a", first)
                await read_some("b", second)
            assert first.assignment().isdisjoint(second.assignment())
            assert second.assignment()

    everything = seen["a"] + seen["b"]
    assert sorted(everything) == sorted(set(everything)), "a record was read twice"
    assert len(everything) == 20_000
    loop_thread = threading.get_ident()
    assert any(
        "revoked" in entry.getMessage() and entry.thread == loop_thread
        for entry in caplog.records
    ), "no revocation was served on the loop thread"
    async with member() as late:
        partitions = [TopicPartition(topic, p) for p in range(4)]
        committed = await late.committed(partitions)
    assert sum(offset or 0 for offset in committed.values()) == 20_000


async def wait_for(
    condition: Callable[[], bool],
    poll: list[AsyncConsumer[bytes, bytes]] | None = None,
) -> None:
    deadline = time.monotonic() + 45
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        for consumer in poll or []:
            await consumer.getmany(timeout=0.1)
        await asyncio.sleep(0.1)


async def test_close_ends_a_waiting_async_for(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    consumer: AsyncConsumer[bytes, bytes] = AsyncConsumer(
        topic, settings=kafka_settings
    )
    await consumer.start()
    seen: list[ConsumerRecord[bytes, bytes]] = []

    async def iterate() -> None:
        async for record in consumer:
            seen.append(record)

    task = asyncio.create_task(iterate())
    await asyncio.sleep(0.5)
    await consumer.close()

    await asyncio.wait_for(task, 5)
    assert seen == []


async def test_iteration_reports_an_undecodable_record_with_its_location(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    async with AsyncProducer(kafka_settings) as producer:
        await producer.send(topic, b"{broken")

    async with AsyncConsumer(
        topic, settings=kafka_settings, value_serializer=JsonSerializer()
    ) as consumer:
        with pytest.raises(SerializationError) as caught:
            await asyncio.wait_for(anext(aiter(consumer)), 10)

    assert (caught.value.topic, caught.value.offset) == (topic, 0)
