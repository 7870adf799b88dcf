from __future__ import annotations

import time

import pytest

from kafka_utils import (
    AsyncConsumer,
    AsyncProducer,
    ConfigurationError,
    KafkaSettings,
    TopicPartition,
)

from .conftest import TopicFactory


async def read_committed(
    settings: KafkaSettings, topic: str, wait: float
) -> list[bytes]:
    values: list[bytes] = []
    async with AsyncConsumer(
        topic, settings=settings, isolation_level="read_committed"
    ) as consumer:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            values += [r.value for r in await consumer.getmany(timeout=0.5) if r.value]
    return values


async def test_aborted_records_are_invisible_and_committed_ones_all_arrive(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic()

    async with AsyncProducer(kafka_settings, transactional_id=topic) as producer:
        with pytest.raises(RuntimeError, match="handler failed"):
            async with producer.transaction():
                for i in range(50):
                    producer.send_nowait(topic, b"aborted-%d" % i)
                await producer.flush()
                raise RuntimeError("handler failed")

        async with producer.transaction():
            for i in range(50):
                producer.send_nowait(topic, b"committed-%d" % i)

    values = await read_committed(kafka_settings, topic, wait=5)
    assert values == [b"committed-%d" % i for i in range(50)]


async def test_consume_transform_produce_commits_offsets_with_the_output(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    source = await new_topic()
    sink = await new_topic()
    async with AsyncProducer(kafka_settings) as producer:
        for i in range(20):
            await producer.send(source, b"%d" % i)

    group = f"{source}-relay"
    async with (
        AsyncConsumer(
            source, settings=kafka_settings, group_id=group, enable_auto_commit=False
        ) as consumer,
        AsyncProducer(kafka_settings, transactional_id=group) as producer,
    ):
        processed = 0
        while processed < 20:
            records = await consumer.getmany(timeout=2)
            if not records:
                continue
            async with producer.transaction():
                for record in records:
                    assert record.value is not None
                    producer.send_nowait(sink, record.value + b"!")
                last = records[-1]
                await producer.send_offsets_to_transaction(
                    {TopicPartition(source, 0): last.offset + 1}, consumer
                )
            processed += len(records)

        tp = TopicPartition(source, 0)
        assert await consumer.committed([tp]) == {tp: 20}

    values = await read_committed(kafka_settings, sink, wait=3)
    assert values == [b"%d!" % i for i in range(20)]


async def test_transaction_without_transactional_id_is_a_configuration_error(
    kafka_settings: KafkaSettings,
) -> None:
    async with AsyncProducer(kafka_settings) as producer:
        with pytest.raises(ConfigurationError, match="transactional_id"):
            async with producer.transaction():
                pass
