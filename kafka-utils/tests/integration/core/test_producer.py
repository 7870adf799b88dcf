from __future__ import annotations

import asyncio
import logging
import time

import pytest

from kafka_utils import (
    AsyncConsumer,
    AsyncProducer,
    BrokerUnavailableError,
    ClientClosedError,
    ConfigurationError,
    ConsumerRecord,
    DeliveryError,
    KafkaSettings,
    KafkaUtilsError,
    ProducerRecord,
    RecordMetadata,
    RecordTooLargeError,
    SerializationError,
    StringSerializer,
    UnknownTopicError,
)

from .conftest import TopicFactory


async def read_all(
    settings: KafkaSettings, topic: str, count: int
) -> list[ConsumerRecord[bytes, bytes]]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    async with AsyncConsumer(topic, settings=settings) as consumer:
        deadline = time.monotonic() + 60
        while len(records) < count and time.monotonic() < deadline:
            records += await consumer.getmany(max_records=5000, timeout=1.0)
    return records


async def test_awaited_send_returns_where_the_record_was_stored(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(kafka_settings) as producer:
        first = await producer.send(topic, b"one", key=b"k")
        second = await producer.send(topic, b"two", key=b"k")

    assert isinstance(first, RecordMetadata)
    assert (first.topic, first.partition, first.offset) == (topic, 0, 0)
    assert second.offset == 1
    assert first.timestamp_ms is not None and first.timestamp_ms > 0


async def test_send_nowait_resolves_every_future_in_order(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(kafka_settings) as producer:
        futures = [producer.send_nowait(topic, b"%d" % i) for i in range(2000)]
        await producer.flush()
        assert all(future.done() for future in futures)

    offsets = [future.result().offset for future in futures]
    assert offsets == list(range(2000))


async def test_busy_senders_and_a_later_lone_send_all_resolve(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    """A sending loop serves its own delivery reports, then hands back to the thread.

    If the hand-back were lost, the lone send after the burst would never resolve.
    """
    topic = await new_topic()

    async with AsyncProducer(kafka_settings) as producer:

        async def sender(count: int) -> list[RecordMetadata]:
            return [await producer.send(topic, b"x") for _ in range(count)]

        results = await asyncio.gather(*(sender(20) for _ in range(500)))
        await asyncio.sleep(0.3)
        lone = await asyncio.wait_for(producer.send(topic, b"lone"), 10)

    offsets = sorted(metadata.offset for batch in results for metadata in batch)
    assert offsets == list(range(10_000))
    assert lone.offset == 10_000


async def test_send_batch_reports_each_outcome_and_keeps_headers(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    records: list[ProducerRecord[bytes, bytes]] = [
        ProducerRecord(topic, b"a", key=b"1", headers=[("h", b"x"), ("h", b"y")]),
        ProducerRecord(topic, b"x" * 2_000_000, key=b"2"),
        ProducerRecord(topic, "not bytes", key=b"3"),  # type: ignore[arg-type]
        ProducerRecord(topic, b"c", key=b"4", headers={"trace": "abc"}),
    ]

    async with AsyncProducer(kafka_settings) as producer:
        outcomes = await producer.send_batch(records)

    assert isinstance(outcomes[0], RecordMetadata)
    assert isinstance(outcomes[1], RecordTooLargeError)
    assert isinstance(outcomes[2], SerializationError)
    assert isinstance(outcomes[3], RecordMetadata)

    consumed = await read_all(kafka_settings, topic, 2)
    assert [(r.key, r.value, r.headers) for r in consumed] == [
        (b"1", b"a", (("h", b"x"), ("h", b"y"))),
        (b"4", b"c", (("trace", b"abc"),)),
    ]


async def test_oversized_record_fails_at_once_with_a_typed_error(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(kafka_settings) as producer:
        with pytest.raises(RecordTooLargeError, match=topic):
            await producer.send(topic, b"x" * 2_000_000)


async def test_wrong_value_type_is_a_serialization_error(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(kafka_settings) as producer:
        with pytest.raises(SerializationError, match=r"expected bytes, got int"):
            producer.send_nowait(topic, 42)  # type: ignore[arg-type]
        with pytest.raises(SerializationError, match="key"):
            await producer.send(topic, b"v", key=3.5)  # type: ignore[arg-type]


async def test_unknown_topic_fails_quickly_with_a_typed_error(
    kafka_settings: KafkaSettings, make_topic_name: object
) -> None:
    async with AsyncProducer(kafka_settings) as producer:
        with pytest.raises(UnknownTopicError, match="does-not-exist"):
            await asyncio.wait_for(producer.send("does-not-exist-x1", b"v"), 20)


async def test_unreachable_bootstrap_fails_within_the_connect_timeout() -> None:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1")
    producer: AsyncProducer[bytes, bytes] = AsyncProducer(settings, connect_timeout=2)

    with pytest.raises(BrokerUnavailableError, match=r"127\.0\.0\.1:1"):
        await asyncio.wait_for(producer.start(), 15)
    await producer.close()


def test_unknown_option_is_rejected_with_its_name() -> None:
    with pytest.raises(ConfigurationError, match=r"no\.such\.option"):
        AsyncProducer(KafkaSettings(), no_such_option=1)


def test_snake_case_and_dotted_options_are_accepted() -> None:
    options = {"compression.type": "lz4"}
    AsyncProducer(KafkaSettings(), linger_ms=5, **options)  # type: ignore[arg-type]


async def test_send_waits_for_room_when_the_local_queue_is_full(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(
        kafka_settings, queue_buffering_max_messages=10
    ) as producer:
        futures = [producer.send_nowait(topic, b"%d" % i) for i in range(500)]
        awaited = await asyncio.gather(*(producer.send(topic, b"x") for _ in range(50)))

    offsets = [future.result().offset for future in futures]
    assert offsets == list(range(500))
    assert sorted(m.offset for m in awaited) == list(range(500, 550))


async def test_a_producer_that_failed_to_start_refuses_to_send() -> None:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1")
    producer: AsyncProducer[bytes, bytes] = AsyncProducer(settings, connect_timeout=1)

    with pytest.raises(BrokerUnavailableError):
        await producer.start()
    with pytest.raises(ClientClosedError, match="not started"):
        producer.send_nowait("any", b"v")


async def test_close_fails_undelivered_futures_explicitly(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    producer: AsyncProducer[bytes, bytes] = AsyncProducer(
        kafka_settings, queue_buffering_max_messages=5, queue_full_timeout=60
    )
    await producer.start()
    futures = [producer.send_nowait(topic, b"x" * 1000) for _ in range(20_000)]

    await producer.close(timeout=0.01)

    assert all(future.done() for future in futures)
    failed = [f for f in futures if not f.cancelled() and f.exception() is not None]
    delivered = [f for f in futures if f.exception() is None]
    assert len(failed) + len(delivered) == len(futures)
    assert all(isinstance(f.exception(), KafkaUtilsError) for f in failed)
    with pytest.raises(ClientClosedError):
        producer.send_nowait(topic, b"late")


async def test_string_serializer_round_trip(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(
        kafka_settings,
        key_serializer=StringSerializer(),
        value_serializer=StringSerializer(),
    ) as producer:
        await producer.send(topic, "héllo", key="clé")

    async with AsyncConsumer(
        topic,
        settings=kafka_settings,
        key_serializer=StringSerializer(),
        value_serializer=StringSerializer(),
    ) as consumer:
        records = await consumer.getmany(timeout=10)
    assert [(r.key, r.value) for r in records] == [("clé", "héllo")]


async def test_fire_and_forget_records_all_arrive(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(
        kafka_settings, queue_buffering_max_messages=1000
    ) as producer:
        for i in range(5000):
            producer.produce(topic, b"%d" % i, key=b"k")
        await producer.flush()

    consumed = await read_all(kafka_settings, topic, 5000)
    assert [r.value for r in consumed] == [b"%d" % i for i in range(5000)]


async def test_fire_and_forget_failures_are_raised_by_flush(
    kafka_settings: KafkaSettings,
) -> None:
    async with AsyncProducer(kafka_settings) as producer:
        producer.produce("no-such-topic-for-forgotten-records", b"lost?")
        with pytest.raises(DeliveryError) as caught:
            await producer.flush(timeout=20)

        assert caught.value.count == 1
        assert isinstance(caught.value.failures[0], UnknownTopicError)
        await producer.flush()  # reported once, then cleared


async def test_flush_sends_a_lingering_batch_at_once(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(kafka_settings, linger_ms=60_000) as producer:
        producer.produce(topic, b"lingering")
        # librdkafka would hold the batch for a minute; flush() must not wait it out.
        await asyncio.wait_for(producer.flush(), timeout=15)

    consumed = await read_all(kafka_settings, topic, 1)
    assert [r.value for r in consumed] == [b"lingering"]


async def test_many_fire_and_forget_failures_log_one_warning(
    kafka_settings: KafkaSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kafka_utils")
    async with AsyncProducer(kafka_settings) as producer:
        for _ in range(50):
            producer.produce("no-such-topic-for-many-lost-records", b"lost?")
        with pytest.raises(DeliveryError) as caught:
            await producer.flush(timeout=20)

    assert caught.value.count == 50
    warnings = [r for r in caplog.records if "not delivered" in r.getMessage()]
    assert len(warnings) == 1


async def test_drain_holds_a_produce_loop_to_the_queue_size(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()
    most_parked = 0

    async with AsyncProducer(
        kafka_settings, queue_buffering_max_messages=100
    ) as producer:
        for i in range(3000):
            producer.produce(topic, b"%d" % i)
            most_parked = max(most_parked, len(producer._overflow))
            await producer.drain()
        await producer.flush()

    # drain() returned only once parked records had entered librdkafka's queue.
    assert most_parked <= 1
    consumed = await read_all(kafka_settings, topic, 3000)
    assert [r.value for r in consumed] == [b"%d" % i for i in range(3000)]
