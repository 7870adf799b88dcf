"""kafka-utils rows: `AsyncProducer` and `AsyncConsumer`, on asyncio or uvloop."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

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
from kafka_utils import (
    AsyncConsumer,
    AsyncProducer,
    ConsumerRecord,
    KafkaSettings,
    ProducerRecord,
    TopicPartition,
)
from meter import Meter
from scenarios import (
    BATCH_BYTES,
    BATCH_CHUNK,
    CONSUME_BATCH,
    FETCH_MAX_BYTES,
    FETCH_MAX_WAIT_MS,
    FETCH_QUEUE_BACKOFF_MS,
    FIRE_WINDOW,
    PARTITION_FETCH_BYTES,
    RELAY_WINDOW,
    Case,
    Spec,
)


def _producer(spec: Spec) -> AsyncProducer:
    case = spec.case
    # kafka-utils defaults to acks=all with idempotence: every option is explicit.
    return AsyncProducer(
        KafkaSettings(bootstrap_servers=spec.bootstrap),
        acks=case.acks,
        enable_idempotence=case.idempotence,
        linger_ms=case.linger_ms,
        batch_size=BATCH_BYTES,
        compression_type=case.compression,
    )


def _consumer(spec: Spec, *topics: str, commit: bool = False) -> AsyncConsumer:
    return AsyncConsumer(
        *topics,
        settings=KafkaSettings(bootstrap_servers=spec.bootstrap),
        group_id=spec.group or None,
        batch_size=CONSUME_BATCH,
        enable_auto_commit=commit,
        auto_offset_reset="earliest",
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        fetch_wait_max_ms=FETCH_MAX_WAIT_MS,
        fetch_queue_backoff_ms=FETCH_QUEUE_BACKOFF_MS,
    )


# Scenarios 1 and 2: fire-and-forget.


async def _fire_nowait(
    producer: AsyncProducer, topic: str, value: bytes, count: int, meter: Meter | None
) -> int:
    """`send_nowait` in a loop, at most FIRE_WINDOW records unacknowledged."""
    pending: deque[asyncio.Future[Any]] = deque()
    send = producer.send_nowait
    half = count // 2
    for index in range(count):
        pending.append(send(topic, value))
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


async def _fire_produce(
    producer: AsyncProducer, topic: str, value: bytes, count: int, meter: Meter | None
) -> int:
    """`produce()` in a loop: no future per record; failures surface in `flush()`."""
    send = producer.produce
    half = count // 2
    for index in range(count):
        send(topic, value)
        if index % 1024 == 0:
            # The documented back-pressure point: waits only while records are
            # parked because librdkafka's queue is full.
            await producer.drain()
            if meter is not None and index % CLOCK_EVERY == 0:
                if index >= half:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    count = index + 1
                    break
    await producer.flush()
    return count


async def _fire_batches(
    producer: AsyncProducer, topic: str, value: bytes, count: int, meter: Meter | None
) -> int:
    """`send_batch` with chunks of BATCH_CHUNK records, FIRE_WINDOW records in flight."""
    tasks: deque[asyncio.Task[list[Any]]] = deque()
    sent = 0
    while sent < count:
        size = min(BATCH_CHUNK, count - sent)
        chunk = [ProducerRecord(topic, value) for _ in range(size)]
        tasks.append(asyncio.ensure_future(producer.send_batch(chunk)))
        sent += size
        if len(tasks) * BATCH_CHUNK >= FIRE_WINDOW:
            _check(await tasks.popleft())
        if meter is not None:
            if sent >= count // 2:
                meter.mark_half()
            if time.perf_counter() > meter.deadline:
                break
    for task in tasks:
        _check(await task)
    return sent


def _check(outcomes: list[Any]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome


async def produce(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    fire = {
        "produce": _fire_produce,
        "send_nowait": _fire_nowait,
        "send_batch": _fire_batches,
    }[spec.variant.api]
    async with _producer(spec) as producer:
        await fire(producer, spec.topic, value, case.warmup, None)
        meter.start()
        done = await fire(producer, spec.topic, value, case.records, meter)
        meter.stop(done, case.size, capped=done < case.records)


# Scenario 3: awaited sends with k in flight.


async def awaited(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    latencies = meter.latencies_ns
    clock = time.perf_counter_ns

    async with _producer(spec) as producer:
        send = producer.send

        async def worker(count: int, record: bool) -> None:
            for _ in range(count):
                started = clock()
                await send(spec.topic, value)
                if record:
                    latencies.append(clock() - started)
                    if len(latencies) == case.records // 2:
                        meter.mark_half()
                    if time.perf_counter() > meter.deadline:
                        return

        k = case.in_flight
        await asyncio.gather(
            *(worker(max(1, case.warmup // k), False) for _ in range(k))
        )
        meter.start()
        await asyncio.gather(*(worker(case.records // k, True) for _ in range(k)))
        meter.stop(len(latencies), case.size, capped=len(latencies) < case.records)


# Scenario 4: consume from earliest.


async def consume(spec: Spec, meter: Meter) -> None:
    case = spec.case
    total = case.records + case.warmup
    async with _consumer(spec, spec.topic) as consumer:
        if case.consume_api == "batch":
            count, size, capped = await _consume_batches(consumer, case, meter)
        else:
            count, size, capped = await _consume_records(consumer, case, total, meter)
    meter.stop(count, size, capped=capped)


async def _consume_batches(
    consumer: AsyncConsumer, case: Case, meter: Meter
) -> tuple[int, int, bool]:
    tally = ConsumeTally(case, meter)
    nbytes = 0
    while tally.seen < tally.total:
        records = await consumer.getmany(CONSUME_BATCH, timeout=1.0)
        for record in records:
            nbytes += len(record.value or b"")
        if tally.add(len(records)):
            return tally.measured, case.size, True
    return tally.measured, case.size, False


async def _consume_records(
    consumer: AsyncConsumer, case: Case, total: int, meter: Meter
) -> tuple[int, int, bool]:
    seen = nbytes = 0
    half = case.warmup + case.records // 2
    async for record in consumer:
        nbytes += len(record.value or b"")
        seen += 1
        if seen == case.warmup:
            meter.start()
        elif seen % CLOCK_EVERY == 0:
            if seen >= half:
                meter.mark_half()
            if seen > case.warmup and time.perf_counter() > meter.deadline:
                return seen - case.warmup, case.size, True
        if seen >= total:
            break
    return seen - case.warmup, case.size, False


# Scenario 5: end-to-end latency at a fixed rate.


async def e2e(spec: Spec, meter: Meter) -> None:
    case = spec.case
    plan = E2EPlan(case.rate, case.duration_s)
    latencies = meter.latencies_ns
    partition = TopicPartition(spec.topic, 0)

    async with _producer(spec) as producer, _consumer(spec) as consumer:
        await consumer.assign([partition], {partition: 0})

        async def read() -> None:
            async for record in consumer:
                if plan.record(latencies, time.perf_counter_ns(), record.value or b""):
                    return

        def send(index: int) -> None:
            plan.mark(meter, index)
            producer.send_nowait(spec.topic, stamped(index, case.size), partition=0)

        reader = asyncio.create_task(read())
        await pace_async(case.rate, plan.total, send)
        caught_up = await catch_up(reader)
        meter.stop(len(latencies), case.size, capped=not caught_up)


# Scenario 6: consume, produce a derived record, store the offset once acknowledged.


async def relay(spec: Spec, meter: Meter) -> None:
    case = spec.case
    total = case.records + case.warmup
    pending: deque[tuple[asyncio.Future[Any], ConsumerRecord[bytes, bytes]]] = deque()

    async with (
        _consumer(spec, spec.topic, commit=True) as consumer,
        _producer(spec) as producer,
    ):
        store = consumer.store

        async def settle(limit: int) -> None:
            # Offsets are stored only for records whose output is acknowledged.
            while pending and (pending[0][0].done() or len(pending) > limit):
                future, record = pending.popleft()
                await future
                store(record)

        seen = 0
        capped = False
        async for record in consumer:
            future = producer.send_nowait(
                spec.out_topic,
                transform(record.value or b""),
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
            elif seen % CLOCK_EVERY == 0 and seen > case.warmup:
                if seen >= case.warmup + case.records // 2:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    capped = True
                    break
            if seen >= total:
                break
        await settle(0)
        meter.stop(seen - case.warmup, case.size, capped=capped)
        await consumer.commit()
