"""The `kafka-utils` command line, one module per command group.

`main` is the console script's entry point; `cli` is the root click group, for
embedding or for click's `CliRunner` in tests.
"""

from __future__ import annotations

from kafka_utils.cli._main import cli, main

__all__ = ["cli", "main"]
