"""Measures one child process: wall time, CPU of all its threads, and its memory.

A client calls `start()` when its warm-up is over, `mark_half()` when half of the
measured records are through, and `stop(records)` at the end. CPU seconds are
`psutil.Process().cpu_times()` user + system, which covers every thread of the
process (librdkafka's included). RSS is sampled every 50 ms on a background thread,
separately for the first and the second half, to see growth; the peak is the kernel's high-water mark (`VmHWM`),
which covers the whole process life and spikes between two samples.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from typing import Any

import psutil

RESULT_PREFIX = "BENCH-RESULT "
_MB = 1_000_000


class NotApplicable(Exception):
    """The client cannot run this case; the message says why."""


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    """p50 / p99 / p99.9 in milliseconds (nearest-rank), plus the sample count."""
    if not samples_ns:
        return {}
    ordered = sorted(samples_ns)

    def rank(p: float) -> float:
        index = max(0, math.ceil(p * len(ordered)) - 1)
        return ordered[index] / 1e6

    return {
        "p50_ms": rank(0.50),
        "p99_ms": rank(0.99),
        "p999_ms": rank(0.999),
        "max_ms": ordered[-1] / 1e6,
        "samples": len(ordered),
    }


class Meter:
    """Figures of the measured section of one child."""

    def __init__(self, budget_s: float, interval: float = 0.05) -> None:
        self.budget_s = budget_s
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._half = False
        self._peaks = [0, 0]
        self._t0 = 0.0
        self._t1 = 0.0
        self._cpu0 = 0.0
        self._cpu1 = 0.0
        self.records = 0
        self.record_bytes = 0
        self.capped = False
        self.latencies_ns: list[int] = []
        self.notes: list[str] = []

    @property
    def deadline(self) -> float:
        """`time.perf_counter()` value after which the client should stop."""
        return self._t0 + self.budget_s

    def start(self) -> None:
        """Begin the measured section."""
        self._cpu0 = self._cpu_seconds()
        self._t0 = time.perf_counter()
        self._sampler.start()

    def mark_half(self) -> None:
        """Half of the measured records are through; idempotent."""
        self._half = True

    def stop(self, records: int, record_bytes: int, *, capped: bool = False) -> None:
        """End the measured section after `records` records of `record_bytes`."""
        self._t1 = time.perf_counter()
        self._cpu1 = self._cpu_seconds()
        self._stop.set()
        self.records = records
        self.record_bytes = record_bytes
        self.capped = capped

    def result(self) -> dict[str, Any]:
        """The figures, as printed for the parent."""
        seconds = max(self._t1 - self._t0, 1e-9)
        cpu = self._cpu1 - self._cpu0
        peak = max(self._peaks[0], self._peaks[1], _max_rss_bytes())
        figures: dict[str, Any] = {
            "records": self.records,
            "seconds": seconds,
            "records_per_s": self.records / seconds,
            "mb_per_s": self.records * self.record_bytes / seconds / _MB,
            "cpu_s": cpu,
            "cpu_s_per_m": cpu / self.records * 1e6 if self.records else None,
            "peak_rss_mb": peak / _MB,
            "rss_first_half_mb": self._peaks[0] / _MB or None,
            "rss_second_half_mb": self._peaks[1] / _MB or None,
            "capped": self.capped,
        }
        if self.latencies_ns:
            figures["latency"] = percentiles(self.latencies_ns)
        if self.notes:
            figures["note"] = "; ".join(self.notes)
        return figures

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def _sample(self) -> None:
        process = self._process
        while not self._stop.is_set():
            rss = process.memory_info().rss
            slot = 1 if self._half else 0
            if rss > self._peaks[slot]:
                self._peaks[slot] = rss
            self._stop.wait(self._interval)


def _max_rss_bytes() -> int:
    """The process's RSS high-water mark since its exec (`VmHWM`).

    Not `ru_maxrss`: Linux carries it over `execve`, so a child would report its
    parent's peak when that is higher.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def emit(payload: dict[str, Any]) -> None:
    """Print the one result line the parent looks for."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(payload) + "\n")
    sys.stdout.flush()
