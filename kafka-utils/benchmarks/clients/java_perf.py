"""Kafka's own Java perf tools: the native limit.

`kafka-producer-perf-test` (`org.apache.kafka.tools.ProducerPerformance`) and
`kafka-consumer-perf-test` (`ConsumerPerformance`) run from the jars the broker
provisioning fetched, with the JVM options of Kafka's `kafka-run-class.sh`. This
wrapper starts the JVM and samples it with psutil every 50 ms: its CPU (all
threads, JIT and GC included, from JVM start to exit) and its peak RSS. Throughput
comes from the tool's own steady-state (producer) or fetch-only (consumer) figures,
which leave out JVM start-up, warm-up records and the group join.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from meter import Meter, NotApplicable
from scenarios import (
    BATCH_BYTES,
    FETCH_MAX_BYTES,
    FETCH_MAX_WAIT_MS,
    PARTITION_FETCH_BYTES,
    Spec,
)

# kafka-run-class.sh: KAFKA_HEAP_OPTS and KAFKA_JVM_PERFORMANCE_OPTS defaults.
JVM_OPTIONS = [
    "-Xmx256M",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]
_MB = 1_000_000
_STEADY = re.compile(r"(\d+) steady state records sent, ([\d.]+) records/sec")
_TOTAL = re.compile(r"^(\d+) records sent, ([\d.]+) records/sec", re.MULTILINE)


def _java_command(spec: Spec, tool: str, arguments: list[str]) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise NotApplicable("java is not on PATH")
    libs = Path(spec.java_libs)
    if not spec.java_libs or not any(libs.glob("kafka-tools-*.jar")):
        raise NotApplicable(
            f"no kafka-tools jar in {spec.java_libs or '(no libs folder)'}"
        )
    return [
        java,
        *JVM_OPTIONS,
        "-cp",
        f"{libs}/*",
        f"org.apache.kafka.tools.{tool}",
        *arguments,
    ]


def _run_sampled(command: list[str], timeout: float) -> tuple[str, float, int]:
    """Run the JVM; return its output, CPU seconds and peak RSS in bytes."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    watched = psutil.Process(process.pid)
    cpu = 0.0
    peak = 0
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        try:
            times = watched.cpu_times()
            cpu = times.user + times.system
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"the Java tool ran past {timeout:.0f}s")
        time.sleep(0.05)
    output = process.stdout.read() if process.stdout else ""
    if process.wait() != 0:
        raise RuntimeError(f"the Java tool failed: {output.strip().splitlines()[-1:]}")
    return output, cpu, peak


def _figures(
    records: int, per_second: float, size: int, cpu: float, peak: int, note: str
) -> dict[str, Any]:
    return {
        "records": records,
        "seconds": records / per_second if per_second else None,
        "records_per_s": per_second,
        "mb_per_s": per_second * size / _MB,
        "cpu_s": cpu,
        "cpu_s_per_m": cpu / records * 1e6 if records else None,
        "peak_rss_mb": peak / _MB,
        "rss_first_half_mb": None,
        "rss_second_half_mb": None,
        "capped": False,
        "note": note,
    }


def produce(spec: Spec, meter: Meter) -> dict[str, Any]:
    case = spec.case
    properties = [
        f"acks={'-1' if case.acks == 'all' else case.acks}",
        f"enable.idempotence={'true' if case.idempotence else 'false'}",
        f"linger.ms={case.linger_ms}",
        f"batch.size={BATCH_BYTES}",
        f"compression.type={case.compression}",
    ]
    command = _java_command(
        spec,
        "ProducerPerformance",
        [
            "--bootstrap-server", spec.bootstrap,
            "--topic", spec.topic,
            "--num-records", str(case.records + case.warmup),
            "--warmup-records", str(case.warmup),
            "--record-size", str(case.size),
            "--throughput", "-1",
            "--command-property", *properties,
        ],
    )  # fmt: skip
    output, cpu, peak = _run_sampled(command, timeout=spec.budget_s * 4 + 60)
    steady = _STEADY.search(output) or _TOTAL.search(output)
    if steady is None:
        raise RuntimeError(f"unexpected output: {output[-300:]}")
    total = case.records + case.warmup
    return _figures(
        int(steady.group(1)),
        float(steady.group(2)),
        case.size,
        cpu * case.records / total,
        peak,
        "steady-state rate; CPU is the JVM's whole run, pro rata",
    )


def consume(spec: Spec, meter: Meter) -> dict[str, Any]:
    case = spec.case
    total = case.records + case.warmup
    command = _java_command(
        spec,
        "ConsumerPerformance",
        [
            "--bootstrap-server", spec.bootstrap,
            "--topic", spec.topic,
            "--group", spec.group,
            "--num-records", str(total),
            "--timeout", "60000",
            "--command-property",
            "auto.offset.reset=earliest",
            "enable.auto.commit=false",
            f"fetch.max.bytes={FETCH_MAX_BYTES}",
            f"max.partition.fetch.bytes={PARTITION_FETCH_BYTES}",
            f"fetch.max.wait.ms={FETCH_MAX_WAIT_MS}",
            "max.poll.records=500",
        ],
    )  # fmt: skip
    output, cpu, peak = _run_sampled(command, timeout=spec.budget_s * 4 + 60)
    lines = [line for line in output.splitlines() if line.count(",") >= 9]
    if len(lines) < 2 or not lines[0].startswith("start.time"):
        raise RuntimeError(f"unexpected output: {output[-300:]}")
    header = [name.strip() for name in lines[0].split(",")]
    values = [value.strip() for value in lines[1].split(",")]
    row = dict(zip(header, values, strict=False))
    return _figures(
        int(row["data.consumed.in.nMsg"]),
        float(row["fetch.nMsg.sec"]),
        case.size,
        cpu,
        peak,
        "fetch-only rate (no group join); CPU is the JVM's whole run",
    )


def awaited(spec: Spec, meter: Meter) -> None:
    raise NotApplicable("the Java tool has no bound on records in flight")


def e2e(spec: Spec, meter: Meter) -> None:
    raise NotApplicable("no fixed-rate end-to-end tool in Kafka")


def relay(spec: Spec, meter: Meter) -> None:
    raise NotApplicable("no relay tool in Kafka")
