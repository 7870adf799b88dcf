"""What one awaited record costs the event loop before any Kafka work is done.

    python benchmarks/asyncio_floor.py [--records 300000] [--in-flight 1000]
        [--batch 64] [--loop asyncio|uvloop|both]

Scenario 3 with 1000 sends in flight is bound by the event loop: every record is a
coroutine that awaits its own future, and the future resolves when its delivery
report comes back. This script runs the same shape with no Kafka client at all:
`--in-flight` tasks each create a future per record and await it, and a resolver
that reschedules itself on every loop iteration resolves up to `--batch` futures
at a time, as one `poll()` serving delivery reports does. What it measures is the
least any asyncio Kafka client can spend per awaited record on this loop and this
machine: a future, a callback, a task step, and the loop's own scheduling.

With `--results` it reads the scenario's rows from a results file and prints the
budget per record that a target ratio leaves, beside this floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from pathlib import Path

from clients._common import run_on

RESULTS = Path(__file__).parent / "results" / "latest.json"


async def awaited_records(records: int, in_flight: int, batch: int) -> float:
    """CPU seconds per record of `in_flight` tasks awaiting one future per record."""
    loop = asyncio.get_running_loop()
    waiting: deque[asyncio.Future[None]] = deque()
    finished = loop.create_future()
    per_task = records // in_flight

    async def sender() -> None:
        for _ in range(per_task):
            future = loop.create_future()
            waiting.append(future)
            await future

    def resolve() -> None:
        for _ in range(min(batch, len(waiting))):
            waiting.popleft().set_result(None)
        if not finished.done():
            loop.call_soon(resolve)

    started = time.process_time()
    loop.call_soon(resolve)
    await asyncio.gather(*(sender() for _ in range(in_flight)))
    finished.set_result(None)
    elapsed = time.process_time() - started
    return elapsed / (per_task * in_flight)


def _budgets(path: Path) -> list[tuple[str, float]]:
    """(row label, records/s) of scenario 3 with 1000 in flight, from `path`."""
    results = json.loads(path.read_text())
    for case in results["cases"]:
        if case["id"] == "3-k1000":
            return [
                (row["label"], row["median"]["records_per_s"])
                for row in case["rows"]
                if row.get("median")
            ]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--in-flight", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64, help="futures per resolve")
    parser.add_argument("--runs", type=int, default=3, help="the best run is kept")
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "both"], default="both")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()

    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    for loop_name in loops:
        best = min(
            run_on(loop_name, awaited_records(args.records, args.in_flight, args.batch))
            for _ in range(args.runs)
        )
        print(
            f"{loop_name}: {best * 1e6:.2f} us of CPU per awaited record "
            f"({args.in_flight} in flight, {args.batch} resolved at a time): "
            f"at most {1 / best:,.0f} records/s on one core, with no Kafka work"
        )

    if args.results.exists():
        for label, rate in _budgets(args.results):
            print(
                f"2x {label} ({rate:,.0f}/s in {args.results.name}) leaves "
                f"{1e6 / (2 * rate):.2f} us per record"
            )


if __name__ == "__main__":
    main()
