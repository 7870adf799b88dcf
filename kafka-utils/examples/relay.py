"""Consume-transform-produce with exactly-once delivery (KIP-447 transactions).

Reads `relay-in`, upper-cases each value, and writes it to `relay-out`. The output
records and the consumed offsets are committed in one transaction, so after a crash
the relay neither loses nor duplicates a record for `read_committed` readers.

    kafka-utils broker up
    python examples/relay.py
"""

from __future__ import annotations

import asyncio
import contextlib

from kafka_utils import (
    AsyncAdmin,
    AsyncConsumer,
    AsyncProducer,
    KafkaSettings,
    TopicAlreadyExistsError,
    TopicPartition,
)

SOURCE = "relay-in"
SINK = "relay-out"
GROUP = "relay"


async def main(records: int = 100) -> None:
    settings = KafkaSettings()
    async with AsyncAdmin(settings) as admin:
        for topic in (SOURCE, SINK):
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topic(topic, partitions=2)

    async with AsyncProducer(settings) as producer:
        for number in range(records):
            producer.produce(SOURCE, b"message %d" % number, key=b"%d" % number)
        await producer.flush()

    relayed = 0
    async with (
        AsyncConsumer(
            SOURCE, settings=settings, group_id=GROUP, enable_auto_commit=False
        ) as consumer,
        AsyncProducer(settings, transactional_id=f"{GROUP}-0") as producer,
    ):
        while relayed < records:
            batch = await consumer.getmany(max_records=50, timeout=5.0)
            if not batch:
                break

            async with producer.transaction():
                next_offsets: dict[TopicPartition, int] = {}
                for record in batch:
                    producer.send_nowait(
                        SINK, (record.value or b"").upper(), key=record.key
                    )
                    next_offsets[record.topic_partition] = record.offset + 1
                await producer.send_offsets_to_transaction(next_offsets, consumer)
            relayed += len(batch)

    print(f"relayed {relayed} records from {SOURCE} to {SINK} in transactions")


if __name__ == "__main__":
    asyncio.run(main())
