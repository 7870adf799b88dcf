"""kafka-python: a pure-Python synchronous client with a background I/O thread."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

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


def _producer(spec: Spec) -> KafkaProducer:
    case = spec.case
    if case.compression == "lz4":
        try:
            import lz4.frame  # noqa: F401
        except ImportError:
            raise NotApplicable("lz4 needs the lz4 package") from None
    return KafkaProducer(
        bootstrap_servers=spec.bootstrap,
        acks=int(case.acks) if case.acks != "all" else "all",
        enable_idempotence=case.idempotence,
        linger_ms=case.linger_ms,
        batch_size=BATCH_BYTES,
        compression_type=None if case.compression == "none" else case.compression,
    )


def _consumer(spec: Spec, *topics: str) -> KafkaConsumer:
    return KafkaConsumer(
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


def _fire(
    producer: KafkaProducer, topic: str, value: bytes, count: int, meter: Meter | None
) -> int:
    pending: deque[Any] = deque()
    half = count // 2
    for index in range(count):
        pending.append(producer.send(topic, value))
        if len(pending) >= FIRE_WINDOW:
            while pending and pending[0].is_done:
                _check(pending.popleft())
            if len(pending) >= FIRE_WINDOW:
                pending.popleft().get()
        if meter is not None and index % CLOCK_EVERY == 0:
            if index >= half:
                meter.mark_half()
            if time.perf_counter() > meter.deadline:
                count = index + 1
                break
    producer.flush()
    for future in pending:
        _check(future)
    return count


def _check(future: Any) -> None:
    if future.failed():
        raise future.exception


def produce(spec: Spec, meter: Meter) -> None:
    case = spec.case
    value = payload(case.size)
    producer = _producer(spec)
    try:
        _fire(producer, spec.topic, value, case.warmup, None)
        meter.start()
        done = _fire(producer, spec.topic, value, case.records, meter)
        meter.stop(done, case.size, capped=done < case.records)
    finally:
        producer.close()


def awaited(spec: Spec, meter: Meter) -> None:
    """k in flight: a semaphore of k, released by each record's callback."""
    case = spec.case
    value = payload(case.size)
    producer = _producer(spec)
    latencies = meter.latencies_ns
    clock = time.perf_counter_ns
    room = threading.Semaphore(case.in_flight)

    def run(count: int, record: bool) -> int:
        def done(started: int, _outcome: Any) -> None:
            if record:
                latencies.append(clock() - started)
            room.release()

        futures = []
        for index in range(count):
            room.acquire()
            future = producer.send(spec.topic, value).add_both(done, clock())
            futures.append(future)
            if record and index % 256 == 0:
                if index >= count // 2:
                    meter.mark_half()
                if time.perf_counter() > meter.deadline:
                    count = index + 1
                    break
        producer.flush()
        for future in futures:
            _check(future)
        return count

    try:
        run(max(case.warmup, case.in_flight), False)
        meter.start()
        finished = run(case.records, True)
        meter.stop(finished, case.size, capped=finished < case.records)
    finally:
        producer.close()


def consume(spec: Spec, meter: Meter) -> None:
    case = spec.case
    consumer = _consumer(spec, spec.topic)
    try:
        if case.consume_api == "batch":
            count, capped = _consume_batches(consumer, case, meter)
        else:
            count, capped = _consume_records(consumer, case, meter)
    finally:
        consumer.close()
    meter.stop(count, case.size, capped=capped)


def _consume_batches(
    consumer: KafkaConsumer, case: Case, meter: Meter
) -> tuple[int, bool]:
    tally = ConsumeTally(case, meter)
    nbytes = 0
    while tally.seen < tally.total:
        batches = consumer.poll(timeout_ms=1000, max_records=CONSUME_BATCH)
        count = 0
        for records in batches.values():
            for record in records:
                nbytes += len(record.value)
            count += len(records)
        if tally.add(count):
            return tally.measured, True
    return tally.measured, False


def _consume_records(
    consumer: KafkaConsumer, case: Case, meter: Meter
) -> tuple[int, bool]:
    total = case.records + case.warmup
    seen = nbytes = 0
    for record in consumer:
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


def e2e(spec: Spec, meter: Meter) -> None:
    """A paced producer thread; the main thread polls the consumer."""
    case = spec.case
    plan = E2EPlan(case.rate, case.duration_s)
    producer = _producer(spec)
    consumer = _consumer(spec)
    partition = TopicPartition(spec.topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    latencies = meter.latencies_ns

    def send(index: int) -> None:
        plan.mark(meter, index)
        producer.send(spec.topic, stamped(index, case.size), partition=0)

    sender = threading.Thread(target=pace_sync, args=(case.rate, plan.total, send))
    sender.start()
    last = time.perf_counter()
    finished = False
    give_up_at = 0.0
    try:
        while not finished:
            if not give_up_at and not sender.is_alive():
                give_up_at = time.perf_counter() + CATCH_UP_S
            if give_up_at and time.perf_counter() > give_up_at:
                break
            batches = consumer.poll(timeout_ms=100, max_records=CONSUME_BATCH)
            if not batches and time.perf_counter() - last > STALL_S:
                raise StallError("end-to-end consumer stalled")
            for records in batches.values():
                last = time.perf_counter()
                for record in records:
                    last_one = plan.record(
                        latencies, time.perf_counter_ns(), record.value
                    )
                    finished = finished or last_one
        sender.join()
        meter.stop(len(latencies), case.size, capped=len(latencies) < plan.measured)
    finally:
        producer.close()
        consumer.close()


def relay(spec: Spec, meter: Meter) -> None:
    """Acknowledged offsets go to a dict from the send callback, committed every 5 s."""
    case = spec.case
    total = case.records + case.warmup
    consumer = _consumer(spec, spec.topic)
    producer = _producer(spec)
    room = threading.Semaphore(RELAY_WINDOW)
    acknowledged: dict[TopicPartition, OffsetAndMetadata] = {}
    failures: list[Any] = []

    def delivered(source: Any, _metadata: Any) -> None:
        acknowledged[TopicPartition(source.topic, source.partition)] = (
            OffsetAndMetadata(source.offset + 1, "", -1)
        )
        room.release()

    def failed(error: Any) -> None:
        failures.append(error)
        room.release()

    seen = 0
    capped = False
    committed_at = time.perf_counter()
    try:
        while seen < total and not capped:
            batches = consumer.poll(timeout_ms=1000, max_records=CONSUME_BATCH)
            for records in batches.values():
                for record in records:
                    room.acquire()
                    future = producer.send(
                        spec.out_topic,
                        transform(record.value),
                        key=record.key,
                        partition=record.partition,
                    )
                    future.add_callback(delivered, record).add_errback(failed)
                    seen += 1
                    if seen == case.warmup:
                        producer.flush()
                        meter.start()
                    elif seen > case.warmup and seen % CLOCK_EVERY == 0:
                        if seen >= case.warmup + case.records // 2:
                            meter.mark_half()
                        capped = time.perf_counter() > meter.deadline
            if time.perf_counter() - committed_at > 5.0 and acknowledged:
                consumer.commit(offsets=dict(acknowledged))
                committed_at = time.perf_counter()
        producer.flush()
        if failures:
            raise RuntimeError(f"delivery failed: {failures[0]}")
        meter.stop(seen - case.warmup, case.size, capped=capped)
        consumer.commit(offsets=dict(acknowledged))
    finally:
        producer.close()
        consumer.close()
