"""Errors presented by the CLI: one red line on stderr and an exit code, no traceback.

Every command is wrapped in `handle_errors`, which catches `KafkaUtilsError` (the
root of the library's errors) and exits with the code of its class:

| exit | errors                                                |
|------|-------------------------------------------------------|
| 0    | success                                               |
| 1    | any other `KafkaUtilsError` (and a failed check)      |
| 2    | `ConfigurationError`, as for click's usage errors      |
| 3    | `BrokerUnavailableError`, `KafkaTimeoutError`         |
| 4    | `LocalBrokerError` and its subclasses (local broker)   |

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, overload

import click

from kafka_utils.errors import (
    BrokerUnavailableError,
    ConfigurationError,
    KafkaTimeoutError,
    KafkaUtilsError,
    LocalBrokerError,
)

__all__ = [
    "EXIT_CONFIGURATION",
    "EXIT_FAILURE",
    "EXIT_LOCAL_BROKER",
    "EXIT_UNAVAILABLE",
    "exit_code_for",
    "handle_errors",
    "report_error",
]

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILURE = 1
EXIT_CONFIGURATION = 2
EXIT_UNAVAILABLE = 3
EXIT_LOCAL_BROKER = 4

# Checked in order; the first class the error is an instance of decides.
_EXIT_CODES: tuple[tuple[type[KafkaUtilsError], int], ...] = (
    (ConfigurationError, EXIT_CONFIGURATION),
    (BrokerUnavailableError, EXIT_UNAVAILABLE),
    (KafkaTimeoutError, EXIT_UNAVAILABLE),
    (LocalBrokerError, EXIT_LOCAL_BROKER),
)


def exit_code_for(error: KafkaUtilsError) -> int:
    """Return the process exit code for an error (see the module docstring)."""
    for error_class, code in _EXIT_CODES:
        if isinstance(error, error_class):
            return code
    return EXIT_FAILURE


def report_error(error: KafkaUtilsError) -> int:
    """Print `error: <message>` on stderr and return the exit code to use.

    The first line of the message is printed in red; further lines (a log excerpt,
    Maven's output) follow uncoloured.
    """
    first, _, rest = str(error).partition("\n")
    click.secho(f"error: {first}", fg="red", err=True)
    if rest:
        click.echo(rest, err=True)
    return exit_code_for(error)


@overload
def handle_errors(
    command: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, R]: ...


@overload
def handle_errors(command: Callable[P, R]) -> Callable[P, R]: ...


def handle_errors(command: Callable[P, Any]) -> Callable[P, Any]:
    """Decorate a command so a `KafkaUtilsError` ends it with one line and a code.

    An `async def` command is run with `asyncio.run`. Put the decorator below
    click's decorators:

    ```python
    @group.command()
    @click.option("--topic")
    @handle_errors
    async def describe(topic: str) -> None: ...
    ```
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            result = command(*args, **kwargs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            return result
        except KafkaUtilsError as error:
            raise click.exceptions.Exit(report_error(error)) from None

    return run
