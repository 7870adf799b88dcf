"""The root `kafka-utils` command group; each command group registers here."""

from __future__ import annotations

import logging

import click
from rich.console import Console
from rich.logging import RichHandler

from kafka_utils.cli.broker import broker
from kafka_utils.cli.groups import groups
from kafka_utils.cli.topics import topics

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="async-kafka-utils", prog_name="kafka-utils")
@click.option(
    "-v", "--verbose", is_flag=True, help="Log what kafka-utils does to stderr."
)
def cli(verbose: bool) -> None:
    """Tools for Apache Kafka: a local broker, topics, consumer groups and lag."""
    package_logger = logging.getLogger("kafka_utils")
    has_handler = any(isinstance(h, RichHandler) for h in package_logger.handlers)
    if verbose and not has_handler:
        handler = RichHandler(console=Console(stderr=True), show_path=False)
        package_logger.addHandler(handler)
        package_logger.setLevel(logging.INFO)


cli.add_command(broker)
cli.add_command(topics)
cli.add_command(groups)


def main() -> None:
    """Run the `kafka-utils` command line (the console script's entry point)."""
    cli(prog_name="kafka-utils")
