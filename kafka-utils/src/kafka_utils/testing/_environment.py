"""The environment variables that steer the pytest plugin."""

from __future__ import annotations

import os

from kafka_utils.errors import ConfigurationError

__all__ = [
    "DEFAULT_TEST_CLUSTER_PORT",
    "DEFAULT_TEST_PORT",
    "ENV_BOOTSTRAP",
    "ENV_CLUSTER_BOOTSTRAP",
    "ENV_TEST_CLUSTER_PORT",
    "ENV_TEST_PORT",
    "port_from_env",
]

ENV_BOOTSTRAP = "KAFKA_UTILS_BOOTSTRAP"
"""An external broker for `kafka_bootstrap`; the plugin then starts nothing."""

ENV_CLUSTER_BOOTSTRAP = "KAFKA_UTILS_CLUSTER_BOOTSTRAP"
"""An external three-broker cluster for `kafka_cluster_bootstrap`."""

ENV_TEST_PORT = "KAFKA_UTILS_TEST_PORT"
ENV_TEST_CLUSTER_PORT = "KAFKA_UTILS_TEST_CLUSTER_PORT"

# Away from the 9092 a developer runs, and from each other's controller ports.
DEFAULT_TEST_PORT = 19192
DEFAULT_TEST_CLUSTER_PORT = 19292


def port_from_env(name: str, default: int) -> int:
    """Return the port in environment variable `name`, or `default` if unset.

    Raises:
        ConfigurationError: the variable is set but is not a number.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ConfigurationError(f"{name} must be a port number, not {value!r}")
    return int(value)
