from __future__ import annotations

import re

import pytest

from kafka_utils.errors import ConfigurationError
from kafka_utils.testing import (
    DEFAULT_TEST_PORT,
    ENV_TEST_PORT,
    MAX_TOPIC_LENGTH,
    TopicNameFactory,
    unique_topic_name,
)
from kafka_utils.testing._environment import port_from_env
from kafka_utils.testing.plugin import _bootstrap

VALID_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def test_a_name_carries_the_test_name_and_a_random_suffix() -> None:
    name = unique_topic_name("test_orders_are_counted")

    assert re.fullmatch(r"test-orders_are_counted-[0-9a-f]{8}", name)


def test_names_are_unique() -> None:
    assert len({unique_topic_name("test_x") for _ in range(1000)}) == 1000


def test_parametrized_ids_become_valid_names() -> None:
    name = unique_topic_name("test_send[json-a/b c.d]", "dlq")

    assert VALID_TOPIC.fullmatch(name)
    assert re.fullmatch(r"test-send-json-a-b-c-d-dlq-[0-9a-f]{8}", name)


def test_long_names_are_cut_to_kafkas_limit_keeping_the_suffix() -> None:
    name = unique_topic_name("test_" + "x" * 400, "label")

    assert len(name) == MAX_TOPIC_LENGTH
    assert VALID_TOPIC.fullmatch(name)
    assert re.search(r"x-[0-9a-f]{8}$", name)


def test_the_topic_name_fixture_names_this_test(topic_name: str) -> None:
    assert topic_name.startswith("test-the_topic_name_fixture_names_this_test-")


def test_the_factory_fixture_makes_distinct_labelled_names(
    make_topic_name: TopicNameFactory,
) -> None:
    first, second = make_topic_name("in"), make_topic_name("out")

    assert first != second
    assert "-in-" in first
    assert "-out-" in second
    assert make_topic_name() != make_topic_name()


def test_the_test_port_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_TEST_PORT, raising=False)
    assert port_from_env(ENV_TEST_PORT, DEFAULT_TEST_PORT) == 19192

    monkeypatch.setenv(ENV_TEST_PORT, "40123")
    assert port_from_env(ENV_TEST_PORT, DEFAULT_TEST_PORT) == 40123

    monkeypatch.setenv(ENV_TEST_PORT, "ninety")
    with pytest.raises(ConfigurationError, match="KAFKA_UTILS_TEST_PORT"):
        port_from_env(ENV_TEST_PORT, DEFAULT_TEST_PORT)


def test_an_external_broker_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_UTILS_BOOTSTRAP", "kafka.internal:9092")

    fixture = _bootstrap("KAFKA_UTILS_BOOTSTRAP", ENV_TEST_PORT, 39092, nodes=1)

    assert next(fixture) == "kafka.internal:9092"
    assert list(fixture) == []
