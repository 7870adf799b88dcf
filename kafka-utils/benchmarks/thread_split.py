"""Split a client's CPU per record by thread: what the Python side costs, and what
librdkafka's own threads cost.

    python benchmarks/thread_split.py --bootstrap 127.0.0.1:29092
        [--shape awaited|consume|both] [--runs 3] [--records N]

The suite reports CPU seconds per million records for the whole client process.
When kafka-utils and confluent-kafka's synchronous client use the same engine and
still differ, this script says on which side the difference sits. It reads every
thread's CPU time from `/proc/self/task` before and after the measured section and
groups the threads:

- the main thread: the event loop for kafka-utils, the whole loop for the
  synchronous client;
- other Python threads (kafka-utils' fetch thread or delivery thread);
- librdkafka's broker threads (`rdk:broker*`), which batch, compress, send and
  fetch;
- librdkafka's other threads (`rdk:main` and the like).

It also prints the time spent in CPython's cyclic collector (wall time of each
collection during the section, already part of the main thread's figure), the
process's minor page faults per 1,000 records (each is a first touch of memory the
kernel must map and zero; a process that reuses its memory well has few) and its
peak RSS (`VmHWM`). Thread times come in clock ticks (10 ms), so short
sections are coarse: keep `--records` in the hundreds of thousands. Shapes:

- `awaited`: `--in-flight` coroutines each awaiting `send()` of 100 B records,
  linger 0, acks=all with idempotence (scenario 3); the synchronous client keeps
  as many unacknowledged with delivery callbacks, as the suite does;
- `consume`: batch consume of `--size`-byte records from earliest (scenario 4),
  `getmany(500)` against `consume(500)`.

Each (shape, client, run) runs in a fresh child process, on a fresh topic for
`awaited` and on one topic filled once for `consume`. Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Producer

from clients._common import payload, run_on
from clients.confluent_sync import fire
from kafka_utils import AsyncAdmin, AsyncConsumer, AsyncProducer, KafkaSettings

CLIENTS = ("kafka-utils/asyncio", "kafka-utils/uvloop", "confluent-sync")
GROUPS = ("main thread", "other Python", "rdk:broker", "rdk:other", "collector")
_BATCH = 500
_AWAITED_SIZE = 100
_FETCH = {
    "fetch.max.bytes": 52_428_800,
    "max.partition.fetch.bytes": 1_048_576,
    "fetch.wait.max.ms": 500,
    "fetch.queue.backoff.ms": 10,
}

ThreadTimes = dict[int, tuple[str, float]]


def _thread_times() -> ThreadTimes:
    """CPU seconds (user + system) of every thread of this process, by thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    times: ThreadTimes = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as comm_file:
                name = comm_file.read().strip()
            with open(f"/proc/self/task/{tid}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended between listdir and open
            continue
        times[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    return times


def _group(tid: int, name: str) -> str:
    if tid == os.getpid():
        return "main thread"
    if name.startswith("rdk:broker"):
        return "rdk:broker"
    if name.startswith("rdk:"):
        return "rdk:other"
    return "other Python"


class Section:
    """Thread CPU, collector time and wall time of one measured section."""

    def __init__(self) -> None:
        self._before: ThreadTimes = {}
        self._started = 0.0
        self._seconds = 0.0
        self._cpu: dict[str, float] = dict.fromkeys(GROUPS, 0.0)
        self._gc_started = 0.0
        self._measuring = False
        self._faults_at_start = 0
        self._faults = 0
        gc.callbacks.append(self._on_collection)

    def start(self) -> None:
        self._faults_at_start = _minor_faults()
        self._before = _thread_times()
        self._measuring = True
        self._started = time.perf_counter()

    def stop(self) -> None:
        self._seconds = time.perf_counter() - self._started
        self._faults = _minor_faults() - self._faults_at_start
        self._measuring = False
        for tid, (name, seconds) in _thread_times().items():
            _, before = self._before.get(tid, (name, 0.0))
            self._cpu[_group(tid, name)] += seconds - before

    def figures(self, records: int) -> dict[str, Any]:
        """Microseconds per record by thread group, the rate, faults and peak RSS."""
        per_record = {group: cpu / records * 1e6 for group, cpu in self._cpu.items()}
        return {
            "records_per_s": records / self._seconds,
            "us_per_record": per_record,
            "faults_per_1k": self._faults / records * 1000,
            "peak_rss_mb": _peak_rss_mb(),
        }

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if not self._measuring:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._cpu["collector"] += time.perf_counter() - self._gc_started


def _minor_faults() -> int:
    """Page faults of the whole process served without I/O: first touches of memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# The children: one shape, one client, one run each.


async def _awaited_kafka_utils(args: argparse.Namespace, section: Section) -> int:
    settings = KafkaSettings(bootstrap_servers=args.bootstrap)
    value = payload(_AWAITED_SIZE)
    async with AsyncProducer(
        settings, acks="all", enable_idempotence=True, linger_ms=0, batch_size=1_000_000
    ) as producer:
        send = producer.send

        async def worker(count: int) -> None:
            for _ in range(count):
                await send(args.topic, value)

        in_flight = args.in_flight
        await asyncio.gather(*(worker(2) for _ in range(in_flight)))
        per_task = args.records // in_flight
        section.start()
        await asyncio.gather(*(worker(per_task) for _ in range(in_flight)))
        section.stop()
        return per_task * in_flight


def _awaited_sync(args: argparse.Namespace, section: Section) -> int:
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 0,
            "batch.size": 1_000_000,
        }
    )
    value = payload(_AWAITED_SIZE)
    in_flight = 0

    def delivered(error: Any, message: Any) -> None:
        nonlocal in_flight
        in_flight -= 1
        if error is not None:
            raise RuntimeError(f"delivery to {args.topic} failed: {error}")

    def run(count: int) -> None:
        nonlocal in_flight
        for _ in range(count):
            while in_flight >= args.in_flight:
                producer.poll(1.0)
            producer.produce(args.topic, value, on_delivery=delivered)
            in_flight += 1
            producer.poll(0)
        producer.flush()

    run(2 * args.in_flight)
    section.start()
    run(args.records)
    section.stop()
    return int(args.records)


async def _consume_kafka_utils(args: argparse.Namespace, section: Section) -> int:
    async with AsyncConsumer(
        args.topic,
        settings=KafkaSettings(bootstrap_servers=args.bootstrap),
        group_id=f"thread-split-{uuid.uuid4().hex[:10]}",
        batch_size=_BATCH,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=_FETCH["fetch.max.bytes"],
        max_partition_fetch_bytes=_FETCH["max.partition.fetch.bytes"],
        fetch_wait_max_ms=_FETCH["fetch.wait.max.ms"],
        fetch_queue_backoff_ms=_FETCH["fetch.queue.backoff.ms"],
    ) as consumer:
        seen = 0
        while seen == 0:
            seen = len(await consumer.getmany(_BATCH, timeout=1.0))
        section.start()
        total = 0
        while seen < args.records:
            for record in await consumer.getmany(_BATCH, timeout=1.0):
                total += len(record.value or b"")
                seen += 1
        section.stop()
        return seen


def _consume_sync(args: argparse.Namespace, section: Section) -> int:
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"thread-split-{uuid.uuid4().hex[:10]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **_FETCH,
        }
    )
    consumer.subscribe([args.topic])
    try:
        seen = 0
        while seen == 0:
            seen = len(consumer.consume(_BATCH, 1.0))
        section.start()
        total = 0
        while seen < args.records:
            for message in consumer.consume(_BATCH, 1.0):
                if message.error() is not None:
                    raise RuntimeError(str(message.error()))
                total += len(message.value())
                seen += 1
        section.stop()
        return seen
    finally:
        consumer.close()


def _child(args: argparse.Namespace) -> None:
    section = Section()
    measured: int
    if args.client == "confluent-sync":
        run_sync: Callable[[argparse.Namespace, Section], int] = (
            _awaited_sync if args.shape == "awaited" else _consume_sync
        )
        measured = run_sync(args, section)
    else:
        shape = (
            _awaited_kafka_utils if args.shape == "awaited" else _consume_kafka_utils
        )
        measured = run_on(args.client.split("/")[1], shape(args, section))
    # The parent reads the last line of the child's output.
    sys.stdout.write(json.dumps(section.figures(measured)) + "\n")


# The parent: topics, children, and the table.


async def _create_topic(bootstrap: str, prefix: str, partitions: int = 1) -> str:
    topic = f"bench-split-{prefix}-{uuid.uuid4().hex[:10]}"
    async with AsyncAdmin(KafkaSettings(bootstrap_servers=bootstrap)) as admin:
        await admin.create_topic(topic, partitions)
    return topic


def _fill(bootstrap: str, topic: str, records: int, size: int) -> None:
    """Write `records` values of `size` bytes with the suite's plain fast produce."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1_000_000}
    )
    fire(producer, topic, payload(size), records, None)


def _run_child(args: argparse.Namespace, shape: str, client: str, topic: str) -> Any:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--bootstrap",
        args.bootstrap,
        "--shape",
        shape,
        "--client",
        client,
        "--topic",
        topic,
        "--records",
        str(args.records),
        "--in-flight",
        str(args.in_flight),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{shape} / {client} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_table(shape: str, rows: dict[str, list[Any]]) -> None:
    header = f"{'client':22}{'records/s':>12}" + "".join(f"{g:>14}" for g in GROUPS)
    print(f"\n== {shape}: CPU microseconds per record by thread (median of runs)")
    print(header + f"{'faults/1k':>11}{'peak MB':>10}")
    for client, runs in rows.items():
        rate = statistics.median(run["records_per_s"] for run in runs)
        cells = "".join(
            f"{statistics.median(run['us_per_record'][group] for run in runs):14.2f}"
            for group in GROUPS
        )
        faults = statistics.median(run["faults_per_1k"] for run in runs)
        rss = statistics.median(run["peak_rss_mb"] for run in runs)
        print(f"{client:22}{rate:12,.0f}{cells}{faults:11.1f}{rss:10.0f}")


def _parent(args: argparse.Namespace) -> None:
    shapes = ["awaited", "consume"] if args.shape == "both" else [args.shape]
    for shape in shapes:
        filled = ""
        if shape == "consume":
            filled = asyncio.run(
                _create_topic(args.bootstrap, "consume", args.partitions)
            )
            # Room for the warm-up batch on top of the measured records.
            _fill(args.bootstrap, filled, args.records + 2 * _BATCH, args.size)
        rows: dict[str, list[Any]] = {client: [] for client in CLIENTS}
        # Runs interleave the clients, so a noisy minute hurts each of them alike.
        for run in range(args.runs):
            for client in CLIENTS:
                topic = filled or asyncio.run(_create_topic(args.bootstrap, shape))
                figures = _run_child(args, shape, client, topic)
                rows[client].append(figures)
                print(
                    f"[{shape} {run + 1}/{args.runs}] {client:20} "
                    f"{figures['records_per_s']:10,.0f} records/s",
                    flush=True,
                )
        _print_table(shape, rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", default="127.0.0.1:29092")
    parser.add_argument(
        "--shape", choices=["awaited", "consume", "both"], default="both"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--in-flight", type=int, default=1000)
    parser.add_argument("--size", type=int, default=1000, help="consume: bytes")
    parser.add_argument(
        "--partitions",
        type=int,
        default=1,
        help="consume: partitions of the topic (the suite's 1 KB case uses 4)",
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
    else:
        _parent(args)


if __name__ == "__main__":
    main()
