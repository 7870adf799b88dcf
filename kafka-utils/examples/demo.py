"""The kafka-utils demo: produce, consume part of it, show the group's lag.

Run `make demo` (or `kafka-utils broker up` first, then `python examples/demo.py`).
It creates the topic `demo-orders` with three partitions, sends a few thousand JSON
orders with a progress bar, consumes two thirds of them as group `demo-billing`
storing each processed offset, and prints the lag that is left per partition.
"""

from __future__ import annotations

import asyncio
import time

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from kafka_utils import (
    AsyncAdmin,
    AsyncConsumer,
    AsyncProducer,
    JsonSerializer,
    KafkaSettings,
    StringSerializer,
    TopicAlreadyExistsError,
)

TOPIC = "demo-orders"
GROUP = "demo-billing"
RECORDS = 6000
TO_CONSUME = 4000

console = Console()


async def main() -> None:
    # KAFKA_BOOTSTRAP_SERVERS and the other KAFKA_* variables apply when set.
    settings = KafkaSettings()

    async with AsyncAdmin(settings) as admin:
        try:
            await admin.create_topic(TOPIC, partitions=3)
            console.print(f"created topic [bold]{TOPIC}[/] with 3 partitions")
        except TopicAlreadyExistsError:
            console.print(f"topic [bold]{TOPIC}[/] exists; adding to it")

    await produce_orders(settings)
    await consume_orders(settings)

    async with AsyncAdmin(settings) as admin:
        lags = await admin.lag(GROUP, topics=[TOPIC])

    table = Table(title=f"lag of group {GROUP} on {TOPIC}")
    for column in ("partition", "committed", "high watermark", "lag"):
        table.add_column(column, justify="right")
    for lag in lags:
        table.add_row(
            str(lag.partition),
            "-" if lag.committed_offset is None else str(lag.committed_offset),
            str(lag.high_watermark),
            str(lag.lag),
        )
    table.add_section()
    table.add_row("total", "", "", str(sum(lag.lag for lag in lags)))
    console.print(table)


async def produce_orders(settings: KafkaSettings) -> None:
    """Send RECORDS orders keyed by customer, so each customer keeps its order."""
    started = time.perf_counter()
    async with AsyncProducer(
        settings, key_serializer=StringSerializer(), value_serializer=JsonSerializer()
    ) as producer:
        with Progress(console=console) as progress:
            task = progress.add_task("producing", total=RECORDS)
            for start in range(0, RECORDS, 500):
                futures = [
                    producer.send_nowait(
                        TOPIC,
                        {"order": number, "amount_cents": 100 + number % 900},
                        key=f"customer-{number % 40}",
                        headers={"source": "demo"},
                    )
                    for number in range(start, start + 500)
                ]
                await asyncio.gather(*futures)
                progress.advance(task, len(futures))

    elapsed = time.perf_counter() - started
    console.print(f"produced {RECORDS} records in {elapsed:.2f}s")


async def consume_orders(settings: KafkaSettings) -> None:
    """Process TO_CONSUME orders, storing each one's offset once it is handled."""
    consumed = 0
    async with AsyncConsumer(
        TOPIC,
        settings=settings,
        group_id=GROUP,
        value_serializer=JsonSerializer(),
        batch_size=100,
    ) as consumer:
        with Progress(console=console) as progress:
            task = progress.add_task("consuming", total=TO_CONSUME)
            while consumed < TO_CONSUME:
                records = await consumer.getmany(
                    max_records=min(100, TO_CONSUME - consumed), timeout=5.0
                )
                if not records:
                    break
                for record in records:
                    consumer.store(record)
                consumed += len(records)
                progress.advance(task, len(records))
        await consumer.commit()
    console.print(f"consumed and committed {consumed} records as group {GROUP}")


if __name__ == "__main__":
    asyncio.run(main())
