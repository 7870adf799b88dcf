"""confluent-kafka's synchronous `Producer` / `Consumer`: the in-Python limit.

Same engine as kafka-utils (librdkafka), no event loop. Every produced record has a
delivery callback, as an application needs to learn each record's outcome; the
parent also uses `produce` here to fill the topics the consume cases read.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from clients._common import (
    CATCH_UP_S,
    CLOCK_EVERY,
    STALL_S,
    ConsumeTally,
    E2EPlan,
    StallError,
    pace_sync,
    payload,
    stamped,
    transform,
)
from meter import Meter
from scenarios import (
    BATCH_BYTES,
    CONSUME_BATCH,
    FETCH_MAX_BYTES,
    FETCH_MAX_WAIT_MS,
    FETCH_QUEUE_BACKOFF_MS,
    PARTITION_FETCH_BYTES,
    RELAY_WINDOW,
    Case,
    Spec,
)


def producer_config(spec: Spec) -> dict[str, Any]:
    """librdkafka producer properties of a case (shared with confluent_kafka.aio)."""
    case = spec.case
    return {
        "bootstrap.servers": spec.bootstrap,
        "acks": case.acks,
        "enable.idempotence": case.idempotence,
        "linger.ms": case.linger_ms,
        "batch.size": BATCH_BYTES,
        "compression.type": case.compression,
    }


def consumer_config(spec: Spec, *, commit: bool = False) -> dict[str, Any]:
    """librdkafka consumer properties of a case (shared with confluent_kafka.aio)."""
    config: dict[str, Any] = {
        "bootstrap.servers": spec.bootstrap,
        "group.id": spec.group or "bench-unused",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": commit,
        "fetch.max.bytes": FETCH_MAX_BYTES,
        "max.partition.fetch.bytes": PARTITION_FETCH_BYTES,
        "fetch.wait.max.ms": FETCH_MAX_WAIT_MS,
        "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS,
    }
    if commit:
        config["enable.auto.offset.store"] = False
    return config


class _Errors:
    """Delivery callback that keeps the first failure."""

    def __init__(self) -> None:
        self.first: Any = None

    def __call__(self, error: Any, message: Any) -> None:
        if error is not None and self.first is None:
            self.first = error

    def check(self) -> None:
        if self.first is not None:
            raise RuntimeError(f"delivery failed: {self.first}")


def fire(
    producer: Any, topic: str, value: bytes, count: int, meter: Meter | None
) -> int:
    """Produce `count` copies of `value` as fast as librdkafka takes them.

    Flushes at the end and raises the first delivery failure. Returns how many
    were sent before the meter's time budget ran out (all of them without one).
    """
    errors = _Errors()
    produce = producer.produce
    poll = producer.poll
    half = count // 2
    for index in range(count):
        while True:
            try:
                produce(topic, value, on_delivery=errors)
                break
            except BufferError:
                # librdkafka's queue is full: serve delivery reports to make room.
                poll(0.05)
        if index % 1024 == 0:
            poll(0)
            if meter is not None and index % CLOCK_EVERY == 0:
                if index >= half:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    count = index + 1
                    break
    producer.flush()
    errors.check()
    return count


def produce(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    producer = Producer(producer_config(spec))
    fire(producer, spec.topic, value, case.warmup, None)
    meter.start()
    done = fire(producer, spec.topic, value, case.records, meter)
    meter.stop(done, case.size, capped=done < case.records)


def awaited(spec: Spec, meter: Meter) -> None:
    """k in flight: produce while fewer than k are unacknowledged, else poll."""
    case = spec.case
    value = payload(case.size)
    producer = Producer(producer_config(spec))
    latencies = meter.latencies_ns
    clock = time.perf_counter_ns
    in_flight = 0

    def run(count: int, record: bool) -> int:
        nonlocal in_flight

        def delivered(started: int, error: Any, message: Any) -> None:
            nonlocal in_flight
            in_flight -= 1
            if error is not None:
                raise RuntimeError(f"delivery failed: {error}")
            if record:
                latencies.append(clock() - started)

        for index in range(count):
            while in_flight >= case.in_flight:
                producer.poll(1.0)
            producer.produce(
                spec.topic, value, on_delivery=functools.partial(delivered, clock())
            )
            in_flight += 1
            producer.poll(0)
            if record and index % 256 == 0:
                if index >= count // 2:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    count = index + 1
                    break
        producer.flush()
        return count

    run(max(case.warmup, case.in_flight), False)
    meter.start()
    done = run(case.records, True)
    meter.stop(done, case.size, capped=done < case.records)


def consume(spec: Spec, meter: Meter) -> None:
    case = spec.case
    consumer = Consumer(consumer_config(spec))
    consumer.subscribe([spec.topic])
    try:
        if case.consume_api == "batch":
            count, capped = _consume(
                case, meter, lambda: consumer.consume(CONSUME_BATCH, 1.0)
            )
        else:
            count, capped = _consume(case, meter, lambda: _one(consumer.poll(1.0)))
    finally:
        consumer.close()
    meter.stop(count, case.size, capped=capped)


def _one(message: Any) -> list[Any]:
    return [] if message is None else [message]


def _consume(case: Case, meter: Meter, fetch: Any) -> tuple[int, bool]:
    tally = ConsumeTally(case, meter)
    nbytes = 0
    while tally.seen < tally.total:
        messages = fetch()
        for message in messages:
            if message.error() is not None:
                raise RuntimeError(str(message.error()))
            nbytes += len(message.value())
        if tally.add(len(messages)):
            return tally.measured, True
    return tally.measured, False


def e2e(spec: Spec, meter: Meter) -> None:
    """A paced producer thread; the main thread polls the consumer."""
    case = spec.case
    plan = E2EPlan(case.rate, case.duration_s)
    producer = Producer(producer_config(spec))
    consumer = Consumer(consumer_config(spec))
    consumer.assign([TopicPartition(spec.topic, 0, OFFSET_BEGINNING)])
    latencies = meter.latencies_ns

    def send(index: int) -> None:
        plan.mark(meter, index)
        producer.produce(spec.topic, stamped(index, case.size), partition=0)
        producer.poll(0)

    sender = threading.Thread(target=pace_sync, args=(case.rate, plan.total, send))
    sender.start()
    last = time.perf_counter()
    give_up_at = 0.0
    while True:
        if not give_up_at and not sender.is_alive():
            give_up_at = time.perf_counter() + CATCH_UP_S
        if give_up_at and time.perf_counter() > give_up_at:
            break
        message = consumer.poll(0.1)
        if message is None or message.error() is not None:
            if time.perf_counter() - last > STALL_S:
                raise StallError("end-to-end consumer stalled")
            continue
        last = time.perf_counter()
        if plan.record(latencies, time.perf_counter_ns(), message.value()):
            break
    sender.join()
    meter.stop(len(latencies), case.size, capped=len(latencies) < plan.measured)
    producer.flush()
    consumer.close()


def relay(spec: Spec, meter: Meter) -> None:
    """Offsets are stored from the delivery callback of the derived record."""
    case = spec.case
    total = case.records + case.warmup
    consumer = Consumer(consumer_config(spec, commit=True))
    consumer.subscribe([spec.topic])
    producer = Producer(producer_config(spec))
    in_flight = 0

    def delivered(source: Any, error: Any, message: Any) -> None:
        nonlocal in_flight
        in_flight -= 1
        if error is not None:
            raise RuntimeError(f"delivery failed: {error}")
        consumer.store_offsets(message=source)

    seen = 0
    capped = False
    while seen < total and not capped:
        for message in consumer.consume(CONSUME_BATCH, 1.0):
            while in_flight >= RELAY_WINDOW:
                producer.poll(0.1)
            producer.produce(
                spec.out_topic,
                transform(message.value()),
                key=message.key(),
                partition=message.partition(),
                on_delivery=functools.partial(delivered, message),
            )
            in_flight += 1
            seen += 1
            if seen == case.warmup:
                producer.flush()
                meter.start()
            elif seen > case.warmup and seen % CLOCK_EVERY == 0:
                if seen >= case.warmup + case.records // 2:
                    meter.mark_half()
                capped = time.perf_counter() > meter.deadline
        producer.poll(0)
    producer.flush()
    meter.stop(seen - case.warmup, case.size, capped=capped)
    consumer.commit(asynchronous=False)
    consumer.close()
