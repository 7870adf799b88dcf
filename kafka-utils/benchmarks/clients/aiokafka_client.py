"""aiokafka: a pure-Python asyncio client (`AIOKafkaProducer`, `AIOKafkaConsumer`)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.codec import has_lz4
from aiokafka.structs import OffsetAndMetadata

from clients._common import (
    CLOCK_EVERY,
    ConsumeTally,
    E2EPlan,
    catch_up,
    pace_async,
    payload,
    stamped,
    transform,
)
from meter import Meter, NotApplicable
from scenarios import (
    BATCH_BYTES,
    CONSUME_BATCH,
    FETCH_MAX_BYTES,
    FETCH_MAX_WAIT_MS,
    FIRE_WINDOW,
    PARTITION_FETCH_BYTES,
    RELAY_WINDOW,
    Case,
    Spec,
)


def _producer(spec: Spec) -> AIOKafkaProducer:
    case = spec.case
    if case.compression == "lz4" and not has_lz4():
        raise NotApplicable("aiokafka's lz4 needs the cramjam package")
    return AIOKafkaProducer(
        bootstrap_servers=spec.bootstrap,
        acks=int(case.acks) if case.acks != "all" else "all",
        enable_idempotence=case.idempotence,
        linger_ms=case.linger_ms,
        max_batch_size=BATCH_BYTES,
        compression_type=None if case.compression == "none" else case.compression,
    )


def _consumer(spec: Spec, *topics: str, commit: bool = False) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=spec.bootstrap,
        group_id=spec.group or None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        max_poll_records=CONSUME_BATCH,
    )


async def _fire(
    producer: AIOKafkaProducer,
    topic: str,
    value: bytes,
    count: int,
    meter: Meter | None,
) -> int:
    pending: deque[asyncio.Future[Any]] = deque()
    half = count // 2
    for index in range(count):
        pending.append(await producer.send(topic, value))
        if len(pending) >= FIRE_WINDOW:
            while pending and pending[0].done():
                pending.popleft().result()
            if len(pending) >= FIRE_WINDOW:
                await pending.popleft()
        if meter is not None and index % CLOCK_EVERY == 0:
            if index >= half:
                meter.mark_half()
            if time.perf_counter() > meter.deadline:
                count = index + 1
                break
    await producer.flush()
    for future in pending:
        future.result()
    return count


async def produce(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    producer = _producer(spec)
    await producer.start()
    try:
        await _fire(producer, spec.topic, value, case.warmup, None)
        meter.start()
        done = await _fire(producer, spec.topic, value, case.records, meter)
        meter.stop(done, case.size, capped=done < case.records)
    finally:
        await producer.stop()


async def awaited(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    latencies = meter.latencies_ns
    clock = time.perf_counter_ns
    producer = _producer(spec)
    await producer.start()

    async def worker(count: int, record: bool) -> None:
        for _ in range(count):
            started = clock()
            await producer.send_and_wait(spec.topic, value)
            if record:
                latencies.append(clock() - started)
                if len(latencies) == case.records // 2:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    return

    k = case.in_flight
    try:
        await asyncio.gather(
            *(worker(max(1, case.warmup // k), False) for _ in range(k))
        )
        meter.start()
        await asyncio.gather(*(worker(case.records // k, True) for _ in range(k)))
        meter.stop(len(latencies), case.size, capped=len(latencies) < case.records)
    finally:
        await producer.stop()


async def consume(spec: Spec, meter: Meter) -> None:
    case = spec.case
    consumer = _consumer(spec, spec.topic)
    await consumer.start()
    try:
        if case.consume_api == "batch":
            count, capped = await _consume_batches(consumer, case, meter)
        else:
            count, capped = await _consume_records(consumer, case, meter)
    finally:
        await consumer.stop()
    meter.stop(count, case.size, capped=capped)


async def _consume_batches(
    consumer: AIOKafkaConsumer, case: Case, meter: Meter
) -> tuple[int, bool]:
    tally = ConsumeTally(case, meter)
    nbytes = 0
    while tally.seen < tally.total:
        batches = await consumer.getmany(timeout_ms=1000, max_records=CONSUME_BATCH)
        count = 0
        for records in batches.values():
            for record in records:
                nbytes += len(record.value)
            count += len(records)
        if tally.add(count):
            return tally.measured, True
    return tally.measured, False


async def _consume_records(
    consumer: AIOKafkaConsumer, case: Case, meter: Meter
) -> tuple[int, bool]:
    total = case.records + case.warmup
    seen = nbytes = 0
    async for record in consumer:
        nbytes += len(record.value)
        seen += 1
        if seen == case.warmup:
            meter.start()
        elif seen > case.warmup and seen % CLOCK_EVERY == 0:
            if seen >= case.warmup + case.records // 2:
                meter.mark_half()
            if time.perf_counter() > meter.deadline:
                return seen - case.warmup, True
        if seen >= total:
            break
    return seen - case.warmup, False


async def e2e(spec: Spec, meter: Meter) -> None:
    case = spec.case
    plan = E2EPlan(case.rate, case.duration_s)
    latencies = meter.latencies_ns
    producer = _producer(spec)
    consumer = _consumer(spec)
    await producer.start()
    await consumer.start()
    partition = TopicPartition(spec.topic, 0)
    consumer.assign([partition])
    await consumer.seek_to_beginning(partition)

    async def read() -> None:
        async for record in consumer:
            if plan.record(latencies, time.perf_counter_ns(), record.value):
                return

    sends: set[asyncio.Task[Any]] = set()

    def send(index: int) -> None:
        plan.mark(meter, index)
        task = asyncio.ensure_future(
            producer.send(spec.topic, stamped(index, case.size), partition=0)
        )
        sends.add(task)
        task.add_done_callback(sends.discard)

    try:
        reader = asyncio.create_task(read())
        await pace_async(case.rate, plan.total, send)
        caught_up = await catch_up(reader)
        meter.stop(len(latencies), case.size, capped=not caught_up)
    finally:
        await producer.stop()
        await consumer.stop()


async def relay(spec: Spec, meter: Meter) -> None:
    """No store-after-delivery hook: acknowledged offsets go to a dict, committed every 5 s."""
    case = spec.case
    total = case.records + case.warmup
    consumer = _consumer(spec, spec.topic, commit=True)
    producer = _producer(spec)
    await consumer.start()
    await producer.start()
    pending: deque[tuple[asyncio.Future[Any], Any]] = deque()
    acknowledged: dict[TopicPartition, OffsetAndMetadata] = {}
    committed_at = time.perf_counter()

    async def settle(limit: int) -> None:
        nonlocal committed_at
        while pending and (pending[0][0].done() or len(pending) > limit):
            future, record = pending.popleft()
            await future
            acknowledged[TopicPartition(record.topic, record.partition)] = (
                OffsetAndMetadata(record.offset + 1, "")
            )
        if time.perf_counter() - committed_at > 5.0 and acknowledged:
            await consumer.commit(dict(acknowledged))
            committed_at = time.perf_counter()

    seen = 0
    capped = False
    try:
        async for record in consumer:
            future = await producer.send(
                spec.out_topic,
                transform(record.value),
                key=record.key,
                partition=record.partition,
            )
            pending.append((future, record))
            seen += 1
            if len(pending) >= RELAY_WINDOW:
                await settle(RELAY_WINDOW // 2)
            if seen == case.warmup:
                await settle(0)
                meter.start()
            elif seen > case.warmup and seen % CLOCK_EVERY == 0:
                if seen >= case.warmup + case.records // 2:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    capped = True
                    break
            if seen >= total:
                break
        await settle(0)
        meter.stop(seen - case.warmup, case.size, capped=capped)
        await consumer.commit(dict(acknowledged))
    finally:
        await producer.stop()
        await consumer.stop()
