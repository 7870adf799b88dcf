"""confluent_kafka.aio: `AIOProducer` and `AIOConsumer` (librdkafka behind a thread pool).

`AIOProducer.produce()` buffers records on the Python side and hands them to
librdkafka `batch_size` at a time; its delivery futures resolve when somebody polls.
The awaited and latency cases therefore get a buffer as large as the number of
records in flight and a task that keeps polling, the most favourable set-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from confluent_kafka.aio import AIOConsumer, AIOProducer

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
from clients.confluent_sync import consumer_config, producer_config
from meter import Meter
from scenarios import CONSUME_BATCH, FIRE_WINDOW, RELAY_WINDOW, Case, Spec


@contextlib.asynccontextmanager
async def _polling(producer: AIOProducer) -> AsyncIterator[None]:
    """Serve delivery reports continuously while the block runs."""
    running = True

    async def poll() -> None:
        while running:
            await producer.poll(0.05)

    task = asyncio.create_task(poll())
    try:
        yield
    finally:
        running = False
        await task


async def _fire(
    producer: AIOProducer, topic: str, value: bytes, count: int, meter: Meter | None
) -> int:
    pending: deque[asyncio.Future[Any]] = deque()
    half = count // 2
    for index in range(count):
        pending.append(await producer.produce(topic, value))
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
        await future
    return count


async def produce(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    producer = AIOProducer(producer_config(spec))
    try:
        await _fire(producer, spec.topic, value, case.warmup, None)
        meter.start()
        done = await _fire(producer, spec.topic, value, case.records, meter)
        meter.stop(done, case.size, capped=done < case.records)
    finally:
        await producer.close()


async def awaited(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    latencies = meter.latencies_ns
    clock = time.perf_counter_ns
    producer = AIOProducer(
        producer_config(spec), batch_size=min(case.in_flight, 1000), buffer_timeout=0.05
    )

    async def worker(count: int, record: bool) -> None:
        for _ in range(count):
            started = clock()
            await (await producer.produce(spec.topic, value))
            if record:
                latencies.append(clock() - started)
                if len(latencies) == case.records // 2:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    return

    k = case.in_flight
    try:
        async with _polling(producer):
            await asyncio.gather(
                *(worker(max(1, case.warmup // k), False) for _ in range(k))
            )
            meter.start()
            await asyncio.gather(*(worker(case.records // k, True) for _ in range(k)))
            meter.stop(len(latencies), case.size, capped=len(latencies) < case.records)
    finally:
        await producer.close()


async def consume(spec: Spec, meter: Meter) -> None:
    case = spec.case
    consumer = AIOConsumer(consumer_config(spec))
    await consumer.subscribe([spec.topic])
    try:
        if case.consume_api == "batch":
            count, capped = await _consume(
                case, meter, lambda: consumer.consume(CONSUME_BATCH, 1.0)
            )
        else:
            count, capped = await _consume(case, meter, lambda: _one(consumer))
    finally:
        await consumer.close()
    meter.stop(count, case.size, capped=capped)


async def _one(consumer: AIOConsumer, timeout: float = 1.0) -> list[Any]:
    message = await consumer.poll(timeout)
    return [] if message is None else [message]


async def _consume(case: Case, meter: Meter, fetch: Any) -> tuple[int, bool]:
    tally = ConsumeTally(case, meter)
    nbytes = 0
    while tally.seen < tally.total:
        messages = await fetch()
        for message in messages:
            if message.error() is not None:
                raise RuntimeError(str(message.error()))
            nbytes += len(message.value())
        if tally.add(len(messages)):
            return tally.measured, True
    return tally.measured, False


async def e2e(spec: Spec, meter: Meter) -> None:
    case = spec.case
    plan = E2EPlan(case.rate, case.duration_s)
    latencies = meter.latencies_ns
    # One record per librdkafka hand-over: a bigger buffer would hold records back.
    producer = AIOProducer(producer_config(spec), batch_size=1, buffer_timeout=0.05)
    consumer = AIOConsumer(consumer_config(spec))
    await consumer.assign([TopicPartition(spec.topic, 0, OFFSET_BEGINNING)])

    async def fetch() -> list[Any]:
        # One poll() per record costs a thread-pool hop and tops out near 6,000
        # records/s; above that, consume() with a 5 ms wait keeps up.
        if case.rate <= 2_000:
            return await _one(consumer, 0.1)
        return list(await consumer.consume(CONSUME_BATCH, 0.005))

    async def read() -> None:
        while True:
            for message in await fetch():
                if message.error() is not None:
                    continue
                if plan.record(latencies, time.perf_counter_ns(), message.value()):
                    return

    sends: set[asyncio.Task[Any]] = set()

    def send(index: int) -> None:
        plan.mark(meter, index)
        task = asyncio.ensure_future(
            producer.produce(spec.topic, stamped(index, case.size), partition=0)
        )
        sends.add(task)
        task.add_done_callback(sends.discard)

    try:
        reader = asyncio.create_task(read())
        await pace_async(case.rate, plan.total, send)
        caught_up = await catch_up(reader)
        meter.stop(len(latencies), case.size, capped=not caught_up)
    finally:
        await producer.close()
        await consumer.close()


async def relay(spec: Spec, meter: Meter) -> None:
    """No store-after-delivery hook: acknowledged offsets go to a dict, committed every 5 s."""
    case = spec.case
    total = case.records + case.warmup
    consumer = AIOConsumer(consumer_config(spec, commit=False))
    await consumer.subscribe([spec.topic])
    producer = AIOProducer(producer_config(spec))
    pending: deque[tuple[asyncio.Future[Any], Any]] = deque()
    acknowledged: dict[tuple[str, int], int] = {}
    committed_at = time.perf_counter()

    async def settle(limit: int) -> None:
        nonlocal committed_at
        while pending and (pending[0][0].done() or len(pending) > limit):
            future, message = pending.popleft()
            await future
            acknowledged[(message.topic(), message.partition())] = message.offset() + 1
        if time.perf_counter() - committed_at > 5.0 and acknowledged:
            await _commit(consumer, acknowledged)
            committed_at = time.perf_counter()

    seen = 0
    capped = False
    try:
        async with _polling(producer):
            while seen < total and not capped:
                for message in await consumer.consume(CONSUME_BATCH, 1.0):
                    future = await producer.produce(
                        spec.out_topic,
                        transform(message.value()),
                        key=message.key(),
                        partition=message.partition(),
                    )
                    pending.append((future, message))
                    seen += 1
                    if len(pending) >= RELAY_WINDOW:
                        # The buffer (1000 records) was just handed to librdkafka.
                        await settle(RELAY_WINDOW // 2)
                    if seen == case.warmup:
                        await producer.flush()
                        await settle(0)
                        meter.start()
                    elif seen > case.warmup and seen % CLOCK_EVERY == 0:
                        if seen >= case.warmup + case.records // 2:
                            meter.mark_half()
                        capped = time.perf_counter() > meter.deadline
            await producer.flush()
            await settle(0)
            meter.stop(seen - case.warmup, case.size, capped=capped)
            await _commit(consumer, acknowledged)
    finally:
        await producer.close()
        await consumer.close()


async def _commit(consumer: AIOConsumer, offsets: dict[tuple[str, int], int]) -> None:
    await consumer.commit(
        offsets=[
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in offsets.items()
        ],
        asynchronous=False,
    )
