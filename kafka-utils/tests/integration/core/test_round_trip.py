"""Nothing is lost: what `send` acknowledged is read back once, in order."""

from __future__ import annotations

import time
from collections import defaultdict

from kafka_utils import AsyncConsumer, AsyncProducer, KafkaSettings, ProducerRecord

from .conftest import TopicFactory

RECORDS = 100_000


async def test_100k_keyed_records_with_headers_are_read_once_in_order(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topic = await new_topic(partitions=3)
    acknowledged: dict[int, list[int]] = defaultdict(list)

    async with AsyncProducer(kafka_settings, linger_ms=5) as producer:
        for start in range(0, RECORDS, 10_000):
            batch = [
                ProducerRecord(
                    topic,
                    value=b"value-%d" % i,
                    key=b"key-%d" % (i % 97),
                    headers=[("seq", b"%d" % i), ("seq", b"again")],
                )
                for i in range(start, start + 10_000)
            ]
            for metadata in await producer.send_batch(batch):
                assert not isinstance(metadata, Exception), metadata
                acknowledged[metadata.partition].append(metadata.offset)

    seen: dict[int, list[tuple[int, int]]] = defaultdict(list)
    keys_by_partition: dict[bytes, set[int]] = defaultdict(set)
    async with AsyncConsumer(
        topic, settings=kafka_settings, group_id=topic
    ) as consumer:
        deadline = time.monotonic() + 120
        total = 0
        while total < RECORDS and time.monotonic() < deadline:
            for record in await consumer.getmany(max_records=5000, timeout=1.0):
                sequence = int(record.headers[0][1] or b"-1")
                assert record.value == b"value-%d" % sequence
                assert record.key == b"key-%d" % (sequence % 97)
                assert record.headers[1] == ("seq", b"again")
                seen[record.partition].append((record.offset, sequence))
                keys_by_partition[record.key].add(record.partition)
                total += 1

    assert total == RECORDS
    all_sequences = sorted(seq for pairs in seen.values() for _, seq in pairs)
    assert all_sequences == list(range(RECORDS))
    for partition, pairs in seen.items():
        offsets = [offset for offset, _ in pairs]
        sequences = [seq for _, seq in pairs]
        assert offsets == sorted(acknowledged[partition])
        assert sequences == sorted(sequences), f"partition {partition} out of order"
    # Same key, same partition.
    assert all(len(partitions) == 1 for partitions in keys_by_partition.values())
