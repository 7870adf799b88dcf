"""One benchmark child: run one (client, case) and print its figures as one line.

Started by `run.py` as `python benchmarks/child.py SPEC_JSON`, in a fresh process so
that the CPU seconds and the RSS it reports belong to that client alone. The client
module of the row's family provides a function named after the case's kind
(`produce`, `awaited`, `consume`, `e2e`, `relay`); coroutine functions run on asyncio
or, for uvloop rows, on uvloop.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
import traceback
from typing import Any

from clients._common import run_on
from meter import Meter, NotApplicable, emit
from scenarios import Spec


def _run(function: Any, spec: Spec, meter: Meter) -> Any:
    if not inspect.iscoroutinefunction(function):
        return function(spec, meter)
    return run_on(spec.variant.loop, function(spec, meter))


def main() -> int:
    spec = Spec.from_json(sys.argv[1])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    meter = Meter(spec.budget_s)
    try:
        module = importlib.import_module(f"clients.{spec.variant.family}")
        function = getattr(module, spec.case.kind, None)
        if function is None:
            raise NotApplicable(f"no {spec.case.kind} benchmark for this client")
        figures = _run(function, spec, meter)
    except NotApplicable as reason:
        emit({"na": str(reason)})
        return 0
    except ImportError as error:
        emit({"na": f"not installed: {error.name}"})
        return 0
    except Exception as error:
        traceback.print_exc()
        emit({"na": f"failed: {type(error).__name__}: {error}"[:300]})
        return 1
    emit(figures if figures is not None else meter.result())
    return 0


if __name__ == "__main__":
    sys.exit(main())
