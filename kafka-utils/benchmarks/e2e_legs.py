"""Split kafka-utils' end-to-end latency into its two legs, and watch the process.

    python benchmarks/e2e_legs.py --bootstrap 127.0.0.1:29092 [--rate 1000]
        [--seconds 30] [--loop uvloop]

Scenario 5 measures send call to hand-over in one figure. When its p99 jumps, this
script says where the time went. It produces at a fixed rate to a fresh topic with
`message.timestamp.type=LogAppendTime`, so every record carries the broker's wall
clock at the moment it appended the record. Each slow record (over `--slow-ms`) is
then split into:

- send -> append: the record was held in librdkafka, on the network, or by a broker
  slow to append it;
- append -> hand-over: the broker was slow to answer the fetch, or the record waited
  in librdkafka or in kafka-utils on the consumer side.

Two probes run beside the clients, so that a stall of the Python process itself shows
up: a task that sleeps 1 ms on the event loop, and a thread that sleeps 1 ms and so
needs the GIL to wake up. Each gap above `--slow-ms` is listed with its time.

The broker clock and the local clock are the same clock here (one machine), and the
broker's timestamps have millisecond resolution: a leg is exact to about 1 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
import uuid

from clients._common import E2E_WARMUP_S, catch_up, pace_async, run_on
from kafka_utils import (
    AsyncAdmin,
    AsyncConsumer,
    AsyncProducer,
    KafkaSettings,
    TopicPartition,
)
from meter import percentiles

# perf_counter_ns and time_ns at the send call, then padding to the record size.
_RECORD_SIZE = 100
_PROBE_INTERVAL_S = 0.001

# (sent perf ns, sent wall ns, broker append wall ms, handed over perf ns)
Sample = tuple[int, int, int, int]


def _stamp() -> bytes:
    head = time.perf_counter_ns().to_bytes(8, "big") + time.time_ns().to_bytes(8, "big")
    return head + bytes(_RECORD_SIZE - len(head))


class GapProbe:
    """Notes every interval between two wake-ups that exceeds `threshold_s`."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self.gaps: list[tuple[float, float]] = []  # (perf_counter at end, seconds)
        self._last = time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        if now - self._last > self.threshold_s:
            self.gaps.append((now, now - self._last))
        self._last = now


async def _loop_probe(probe: GapProbe, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(_PROBE_INTERVAL_S)
        probe.tick()


def _thread_probe(probe: GapProbe, stop: threading.Event) -> None:
    while not stop.is_set():
        time.sleep(_PROBE_INTERVAL_S)
        probe.tick()


async def measure(args: argparse.Namespace) -> None:
    settings = KafkaSettings(bootstrap_servers=args.bootstrap)
    topic = f"bench-e2e-legs-{uuid.uuid4().hex[:10]}"
    partition = TopicPartition(topic, 0)
    warm = int(args.rate * E2E_WARMUP_S)
    total = warm + int(args.rate * args.seconds)
    samples: list[Sample] = []

    async with AsyncAdmin(settings) as admin:
        await admin.create_topic(
            topic, 1, config={"message.timestamp.type": "LogAppendTime"}
        )
    try:
        async with (
            AsyncProducer(settings, linger_ms=0, batch_size=1_000_000) as producer,
            AsyncConsumer(settings=settings, fetch_wait_max_ms=500) as consumer,
        ):
            await consumer.assign([partition], {partition: 0})
            loop_probe = GapProbe(args.slow_ms / 1000)
            thread_probe = GapProbe(args.slow_ms / 1000)
            loop_stop, thread_stop = asyncio.Event(), threading.Event()
            # Both probes run while the records flow: to_thread's coroutine only
            # starts its thread once it is scheduled as a task.
            probes = [
                asyncio.create_task(_loop_probe(loop_probe, loop_stop)),
                asyncio.create_task(
                    asyncio.to_thread(_thread_probe, thread_probe, thread_stop)
                ),
            ]

            async def read() -> None:
                async for record in consumer:
                    handed_over = time.perf_counter_ns()
                    value = record.value or b""
                    samples.append(
                        (
                            int.from_bytes(value[:8], "big"),
                            int.from_bytes(value[8:16], "big"),
                            record.timestamp_ms or 0,
                            handed_over,
                        )
                    )
                    if len(samples) == total:
                        return

            reader = asyncio.create_task(read())
            await pace_async(
                args.rate, total, lambda _: producer.send_nowait(topic, _stamp())
            )
            if not await catch_up(reader):
                print(f"the consumer fell behind: {len(samples)} of {total} records")
            loop_stop.set()
            thread_stop.set()
            await asyncio.gather(*probes)
    finally:
        async with AsyncAdmin(settings) as admin:
            await admin.delete_topic(topic)

    _report(samples[warm:], args.slow_ms, loop_probe, thread_probe)


def _report(
    samples: list[Sample], slow_ms: float, loop_probe: GapProbe, thread: GapProbe
) -> None:
    latencies = [handed - sent for sent, _, _, handed in samples]
    figures = percentiles(latencies)
    print(
        f"{len(samples)} records: p50 {figures['p50_ms']:.2f} ms, "
        f"p99 {figures['p99_ms']:.2f} ms, p99.9 {figures['p999_ms']:.2f} ms, "
        f"max {figures['max_ms']:.2f} ms"
    )

    slow = [s for s in samples if (s[3] - s[0]) / 1e6 > slow_ms]
    if slow:
        # The hand-over's wall time, from its perf_counter offset to the send.
        to_append = [appended - sent_wall / 1e6 for _, sent_wall, appended, _ in slow]
        to_hand_over = [
            (sent_wall + handed - sent) / 1e6 - appended
            for sent, sent_wall, appended, handed in slow
        ]
        print(
            f"{len(slow)} records over {slow_ms:g} ms: send -> append median "
            f"{statistics.median(to_append):.1f} ms, max {max(to_append):.1f} ms; "
            f"append -> hand-over median {statistics.median(to_hand_over):.1f} ms, "
            f"max {max(to_hand_over):.1f} ms"
        )
    origin = samples[0][0] / 1e9 if samples else 0.0
    for name, probe in (("event loop", loop_probe), ("GIL (thread)", thread)):
        gaps = ", ".join(
            f"{end - origin:.1f} s: {gap * 1e3:.0f} ms" for end, gap in probe.gaps
        )
        print(f"{name} gaps over {slow_ms:g} ms: {gaps or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", default="127.0.0.1:29092")
    parser.add_argument("--rate", type=int, default=1000, help="records per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time")
    parser.add_argument("--slow-ms", type=float, default=10.0, help="what is slow")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    run_on(args.loop, measure(args))


if __name__ == "__main__":
    main()
