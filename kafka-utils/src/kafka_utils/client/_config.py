"""Builds the librdkafka configuration of a client from settings and options."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import confluent_kafka

from kafka_utils.errors import (
    AuthenticationError,
    AuthorizationError,
    BrokerUnavailableError,
    ConfigurationError,
    translate_kafka_error,
)
from kafka_utils.settings import KafkaSettings, normalize_options

__all__ = ["LIBRDKAFKA_LOGGER", "build_config", "check_reachable", "create_native"]

LIBRDKAFKA_LOGGER = logging.getLogger("kafka_utils.librdkafka")
"""Where the producer's and consumer's librdkafka log lines go, at their own level.

confluent-kafka forwards them from the thread that polls (the delivery poller or
the fetch thread) instead of printing them to stderr.
"""

NativeT = TypeVar("NativeT")

# Keys the clients set themselves; a caller passing them would break the bridge.
_RESERVED = frozenset({"on_delivery", "on_commit", "error_cb", "logger"})


def build_config(
    settings: KafkaSettings | None,
    defaults: Mapping[str, Any],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Merge, lowest priority first: client defaults, settings, per-client options.

    Raises:
        ConfigurationError: an option is reserved by kafka-utils or given twice.
    """
    settings = settings if settings is not None else KafkaSettings()
    overrides = normalize_options(options)
    reserved = sorted(_RESERVED.intersection(overrides))
    if reserved:
        raise ConfigurationError(
            f"option {reserved[0]!r} is managed by kafka-utils and cannot be set"
        )

    config = dict(defaults)
    config.update(settings.to_librdkafka())
    config.update(overrides)
    return config


def create_native(
    factory: Callable[[dict[str, Any]], NativeT], config: dict[str, Any]
) -> NativeT:
    """Create a confluent-kafka client, turning a configuration error into ours.

    librdkafka validates every property when the handle is created, so an unknown
    option or a bad value fails here with a message that names it.
    """
    try:
        return factory(config)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"invalid client configuration: {error}") from None
    except Exception as error:
        raise translate_kafka_error(
            error, context="invalid client configuration"
        ) from None


async def check_reachable(
    native: Any, timeout: float, config: Mapping[str, Any]
) -> None:
    """Fetch cluster metadata once so that a wrong address fails fast and clearly."""
    try:
        await asyncio.to_thread(native.list_topics, None, timeout)
    except confluent_kafka.KafkaException as error:
        reason = translate_kafka_error(error)
        if isinstance(reason, AuthenticationError | AuthorizationError):
            # The broker answered: the credentials, not the address, are wrong.
            raise type(reason)(
                f"Kafka at {config.get('bootstrap.servers')} refused the client: "
                f"{reason}",
                code=reason.code,
            ) from None
        raise BrokerUnavailableError(
            f"cannot reach Kafka at {config.get('bootstrap.servers')} within "
            f"{timeout}s: {reason}",
            code=reason.code,
        ) from None
