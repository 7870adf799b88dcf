"""What the topics and groups commands share: connection option, admin, tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from kafka_utils.client.admin import AsyncAdmin
from kafka_utils.settings import KafkaSettings

__all__ = ["bootstrap_option", "connect_admin", "new_table", "stdout"]

F = TypeVar("F", bound=Callable[..., object])


def bootstrap_option(command: F) -> F:
    """Add `--bootstrap-servers` (env KAFKA_BOOTSTRAP_SERVERS) to a command."""
    return click.option(
        "--bootstrap-servers",
        "-b",
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        default=None,
        metavar="HOST:PORT[,...]",
        help="Brokers to bootstrap from [env KAFKA_BOOTSTRAP_SERVERS; default "
        "127.0.0.1:9092]. Other KAFKA_* variables (SASL, SSL) are read too.",
    )(command)


def connect_admin(bootstrap_servers: str | None) -> AsyncAdmin:
    """An `AsyncAdmin` for the cluster, configured from the option and KAFKA_*."""
    if bootstrap_servers is None:
        return AsyncAdmin(KafkaSettings())
    return AsyncAdmin(KafkaSettings(bootstrap_servers=bootstrap_servers))


def stdout() -> Console:
    """The console tables are printed on."""
    return Console(highlight=False)


def new_table(*columns: str, **options: Any) -> Table:
    """A table whose cells wrap rather than cut long topic or group names."""
    table = Table(**options)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
