"""The plugin's session broker, as another project's tests would use it."""

from __future__ import annotations

import socket

from kafka_utils.settings import KafkaSettings


def test_kafka_bootstrap_is_a_reachable_broker(kafka_bootstrap: str) -> None:
    host, _, port = kafka_bootstrap.split(",")[0].rpartition(":")

    with socket.create_connection((host, int(port)), timeout=2):
        pass


def test_kafka_settings_point_at_the_session_broker(
    kafka_settings: KafkaSettings, kafka_bootstrap: str
) -> None:
    assert kafka_settings.bootstrap_servers == kafka_bootstrap
