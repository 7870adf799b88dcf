"""A consumer service: JSON records, rebalance callbacks, at-least-once offsets.

Each record is stored after it is handled, so a crash re-delivers only records that
were not finished. Stop it with Ctrl+C.

    kafka-utils broker up
    python examples/consume_json.py
"""

from __future__ import annotations

import asyncio
import logging

from kafka_utils import AsyncConsumer, JsonSerializer, KafkaSettings, TopicPartition

logger = logging.getLogger("consume_json")


async def on_assigned(partitions: list[TopicPartition]) -> None:
    logger.info("assigned %s", partitions)


async def on_revoked(partitions: list[TopicPartition]) -> None:
    logger.info("revoked %s; stored offsets are committed now", partitions)


async def main(max_records: int | None = None) -> None:
    handled = 0
    async with AsyncConsumer(
        "demo-orders",
        settings=KafkaSettings(),
        group_id="demo-json-reader",
        value_serializer=JsonSerializer(),
        on_assigned=on_assigned,
        on_revoked=on_revoked,
    ) as consumer:
        async for record in consumer:
            logger.info(
                "order %s from %s [%s] offset %s",
                record.value,
                record.topic,
                record.partition,
                record.offset,
            )
            consumer.store(record)
            handled += 1
            if max_records is not None and handled >= max_records:
                break


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(main())
