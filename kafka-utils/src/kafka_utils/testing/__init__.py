"""Testing helpers for code that uses Kafka, and the pytest plugin behind them.

The fixtures (`kafka_bootstrap`, `kafka_cluster_bootstrap`, `kafka_settings`,
`topic_name`, `make_topic_name`) are registered automatically when the package is
installed; see `kafka_utils.testing.plugin` for what each one does and the
environment variables that steer them. This module exports the helpers for use
outside fixtures.
"""

from __future__ import annotations

from kafka_utils.testing._environment import (
    DEFAULT_TEST_CLUSTER_PORT,
    DEFAULT_TEST_PORT,
    ENV_BOOTSTRAP,
    ENV_CLUSTER_BOOTSTRAP,
    ENV_TEST_CLUSTER_PORT,
    ENV_TEST_PORT,
)
from kafka_utils.testing._topics import (
    MAX_TOPIC_LENGTH,
    TopicNameFactory,
    unique_topic_name,
)

__all__ = [
    "DEFAULT_TEST_CLUSTER_PORT",
    "DEFAULT_TEST_PORT",
    "ENV_BOOTSTRAP",
    "ENV_CLUSTER_BOOTSTRAP",
    "ENV_TEST_CLUSTER_PORT",
    "ENV_TEST_PORT",
    "MAX_TOPIC_LENGTH",
    "TopicNameFactory",
    "unique_topic_name",
]
