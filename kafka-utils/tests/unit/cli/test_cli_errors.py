from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from kafka_utils.cli import cli
from kafka_utils.cli._errors import exit_code_for, handle_errors
from kafka_utils.errors import (
    BrokerStartError,
    BrokerUnavailableError,
    ConfigurationError,
    KafkaBrokerError,
    KafkaTimeoutError,
    KafkaUtilsError,
    PortInUseError,
    UnknownTopicError,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigurationError("bad"), 2),
        (BrokerUnavailableError("down"), 3),
        (KafkaTimeoutError("slow"), 3),
        (PortInUseError("taken"), 4),
        (BrokerStartError("crashed"), 4),
        (UnknownTopicError("nope"), 1),
        (KafkaBrokerError("other"), 1),
    ],
)
def test_exit_codes_by_error_class(error: KafkaUtilsError, code: int) -> None:
    assert exit_code_for(error) == code


def command_raising(error: Exception) -> click.Command:
    @click.command()
    @handle_errors
    def failing() -> None:
        raise error

    return failing


def test_an_error_is_one_line_on_stderr_without_traceback() -> None:
    result = CliRunner().invoke(command_raising(PortInUseError("port 9092 is taken")))

    assert result.exit_code == 4
    assert result.stderr == "error: port 9092 is taken\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_further_lines_of_a_message_follow_the_first() -> None:
    error = BrokerStartError("node 1 exited\n  last log line")

    result = CliRunner().invoke(command_raising(error))

    assert result.stderr == "error: node 1 exited\n  last log line\n"


def test_other_exceptions_are_not_swallowed() -> None:
    result = CliRunner().invoke(command_raising(RuntimeError("a bug")))

    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def test_async_commands_are_run_and_their_errors_reported() -> None:
    @click.command()
    @click.argument("name")
    @handle_errors
    async def greet(name: str) -> None:
        if name == "nobody":
            raise UnknownTopicError(f"topic {name!r} does not exist")
        click.echo(f"hello {name}")

    assert CliRunner().invoke(greet, ["kafka"]).stdout == "hello kafka\n"

    result = CliRunner().invoke(greet, ["nobody"])
    assert result.exit_code == 1
    assert result.stderr == "error: topic 'nobody' does not exist\n"


def test_the_root_group_reports_its_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.startswith("kafka-utils, version ")


def test_a_bad_port_is_a_configuration_error() -> None:
    result = CliRunner().invoke(cli, ["broker", "up", "--port", "70000"])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: port 70000 is out of range")
    assert result.stdout == ""
