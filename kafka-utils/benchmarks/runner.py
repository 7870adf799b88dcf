"""The parent's side: topics for each run, one child process per run, medians.

Topics are created with kafka-utils' `AsyncAdmin`, with a fresh name per run so
that runs never read or write each other's records, and deleted after the run so
the broker's disk stays small. Consume and relay cases read a topic filled once per
suite by the confluent-kafka producer, each client with a fresh consumer group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from kafka_utils import AsyncAdmin, KafkaSettings
from meter import RESULT_PREFIX
from scenarios import CONFLUENT_SYNC, Case, Outcome, Spec, Variant, fill_case

CHILD = Path(__file__).with_name("child.py")


class Runner:
    """Runs the children of one suite against one broker."""

    def __init__(
        self,
        bootstrap: str,
        *,
        budget_s: float,
        timeout_s: float,
        java_libs: str,
        verbose: bool = False,
        profile_dir: Path | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.budget_s = budget_s
        self.timeout_s = timeout_s
        self.java_libs = java_libs
        self.verbose = verbose
        self.profile_dir = profile_dir
        self._admin = AsyncAdmin(KafkaSettings(bootstrap_servers=bootstrap))
        self._filled: dict[tuple[int, int, int], str] = {}

    async def __aenter__(self) -> Runner:
        await self._admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for topic in self._filled.values():
            await self._delete(topic)
        await self._admin.close()

    async def warm_broker(self, records: int) -> None:
        """Produce and discard some records so the broker's JIT is warm."""
        case = Case(
            "warm-up",
            0,
            "broker warm-up",
            "produce",
            records,
            100,
            acks="1",
            idempotence=False,
        )
        topic = await self._create("bench-warmup", 1)
        try:
            await self._child(self._spec(case, CONFLUENT_SYNC, topic))
        finally:
            await self._delete(topic)

    async def run_once(self, case: Case, variant: Variant, run: int) -> Outcome:
        """Run one (case, row, run) in a fresh child, topics made and removed here."""
        created: list[str] = []
        try:
            topic, out_topic = "", ""
            if case.prefilled:
                topic = await self._prefill(case)
            else:
                topic = await self._create(f"bench-{case.id}-r{run}", case.partitions)
                created.append(topic)
            if case.kind == "relay":
                out_topic = await self._create(
                    f"bench-{case.id}-out-r{run}", case.partitions
                )
                created.append(out_topic)
            spec = self._spec(case, variant, topic, out_topic)
            return await self._child(spec)
        except Exception as error:
            return Outcome(
                False, reason=f"failed: {type(error).__name__}: {error}"[:300]
            )
        finally:
            for name in created:
                await self._delete(name)

    def _spec(
        self, case: Case, variant: Variant, topic: str, out_topic: str = ""
    ) -> Spec:
        group = f"bench-{case.id}-{uuid.uuid4().hex[:10]}" if case.prefilled else ""
        return Spec(
            case=case,
            variant=variant,
            bootstrap=self.bootstrap,
            topic=topic,
            out_topic=out_topic,
            group=group,
            budget_s=self.budget_s,
            java_libs=self.java_libs,
        )

    async def _prefill(self, case: Case) -> str:
        key = (case.records + case.warmup, case.size, case.partitions)
        if key in self._filled:
            return self._filled[key]

        topic = await self._create(
            f"bench-fill-{case.size}b-{case.partitions}p", case.partitions
        )
        fill = replace(fill_case(case), id=f"fill-{case.id}")
        outcome = await self._child(
            replace(self._spec(fill, CONFLUENT_SYNC, topic), budget_s=3600)
        )
        if not outcome.ok or outcome.figures.get("records") != key[0]:
            await self._delete(topic)
            raise RuntimeError(
                f"filling {topic} failed: {outcome.reason or outcome.figures}"
            )
        self._filled[key] = topic
        return topic

    async def _create(self, prefix: str, partitions: int) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        await self._admin.create_topic(
            name, partitions=partitions, replication_factor=1
        )
        return name

    async def _delete(self, name: str) -> None:
        with contextlib.suppress(Exception):
            await self._admin.delete_topic(name)

    def _profiler(self, spec: Spec) -> list[str]:
        """py-spy in front of a kafka-utils child: collapsed stacks, native frames."""
        assert self.profile_dir is not None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        name = f"{spec.case.id}-{spec.variant.key.replace('/', '-')}-{uuid.uuid4().hex[:4]}.txt"
        py_spy = Path(sys.executable).with_name("py-spy")
        return [
            str(py_spy), "record", "--native", "--threads", "--rate", "100",
            "--format", "raw", "--output", str(self.profile_dir / name), "--",
        ]  # fmt: skip

    async def _child(self, spec: Spec) -> Outcome:
        """Start the child, wait for its result line, kill it past the timeout."""
        command = [sys.executable, str(CHILD), spec.to_json()]
        if self.profile_dir is not None and spec.variant.is_ours:
            command = [*self._profiler(spec), *command]
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=CHILD.parent,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            stdout, stderr = await asyncio.wait_for(
                process.communicate(), self.timeout_s
            )
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            return Outcome(False, reason=f"timed out after {self.timeout_s:.0f}s")

        if self.verbose and stderr:
            sys.stderr.write(stderr.decode(errors="replace")[-2000:])
        for line in stdout.decode(errors="replace").splitlines():
            if line.startswith(RESULT_PREFIX):
                figures: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
                if "na" in figures:
                    return Outcome(False, reason=str(figures["na"]))
                return Outcome(True, figures=figures)
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [
            "no output"
        ]
        return Outcome(False, reason=f"exit {process.returncode}: {tail[0][:200]}")


_MEDIAN_KEYS = (
    "records",
    "seconds",
    "records_per_s",
    "mb_per_s",
    "cpu_s_per_m",
    "peak_rss_mb",
    "rss_first_half_mb",
    "rss_second_half_mb",
)
_LATENCY_KEYS = ("p50_ms", "p99_ms", "p999_ms", "max_ms")


def median_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over the successful runs, separately."""
    result: dict[str, Any] = {}
    for key in _MEDIAN_KEYS:
        values = [run[key] for run in runs if run.get(key) is not None]
        result[key] = statistics.median(values) if values else None
    latencies = [run["latency"] for run in runs if run.get("latency")]
    if latencies:
        result["latency"] = {
            key: statistics.median(latency[key] for latency in latencies)
            for key in _LATENCY_KEYS
        }
    result["capped"] = any(run.get("capped") for run in runs)
    notes = sorted({run["note"] for run in runs if run.get("note")})
    if notes:
        result["note"] = "; ".join(notes)
    return result
