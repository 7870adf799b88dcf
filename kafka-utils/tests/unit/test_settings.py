from __future__ import annotations

import pytest

from kafka_utils import ConfigurationError, KafkaSettings
from kafka_utils.settings import normalize_options


def test_snake_case_options_become_dotted() -> None:
    assert normalize_options({"auto_offset_reset": "earliest", "linger.ms": 5}) == {
        "auto.offset.reset": "earliest",
        "linger.ms": 5,
    }


def test_python_level_callbacks_keep_their_names() -> None:
    def callback(stats: str) -> None:
        return None

    assert normalize_options({"stats_cb": callback}) == {"stats_cb": callback}


def test_librdkafka_names_with_underscores_are_kept() -> None:
    assert normalize_options({"log_level": 7, "ssl_ca": "pem"}) == {
        "log_level": 7,
        "ssl_ca": "pem",
    }


def test_an_option_given_in_both_forms_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="given twice"):
        normalize_options({"linger_ms": 1, "linger.ms": 2})


def test_defaults_target_a_local_broker() -> None:
    config = KafkaSettings().to_librdkafka()
    assert config["bootstrap.servers"] == "127.0.0.1:9092"
    assert config["security.protocol"] == "PLAINTEXT"
    assert "sasl.mechanism" not in config


def test_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "10.1.1.1:9092, 10.1.1.2:9092")
    monkeypatch.setenv("KAFKA_CLIENT_ID", "billing")
    monkeypatch.setenv("KAFKA_OPTIONS", '{"socket_keepalive_enable": true}')

    settings = KafkaSettings()

    assert settings.bootstrap_servers == "10.1.1.1:9092,10.1.1.2:9092"
    assert settings.to_librdkafka()["client.id"] == "billing"
    assert settings.options == {"socket.keepalive.enable": True}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"bootstrap_servers": "localhost"}, "bootstrap_servers"),
        ({"bootstrap_servers": "host:99999"}, "bootstrap_servers"),
        ({"bootstrap_servers": " , "}, "bootstrap_servers"),
        ({"security_protocol": "TLS"}, "security_protocol"),
        ({"sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
        ({"client_id": ""}, "client_id"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_invalid_values_fail_at_construction_naming_the_field(
    values: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigurationError, match=field):
        KafkaSettings(**values)


def test_sasl_needs_a_mechanism_and_credentials() -> None:
    with pytest.raises(ConfigurationError, match="sasl_mechanism"):
        KafkaSettings(security_protocol="SASL_SSL")
    with pytest.raises(ConfigurationError, match="sasl_password"):
        KafkaSettings(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="u",
        )


def test_sasl_scram_over_ssl_maps_to_librdkafka_names() -> None:
    settings = KafkaSettings(
        bootstrap_servers="broker:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="svc",
        sasl_password="hunter2",
        ssl_ca_location="/etc/ca.pem",
    )

    config = settings.to_librdkafka()

    assert config["sasl.mechanism"] == "SCRAM-SHA-256"
    assert config["sasl.username"] == "svc"
    assert config["sasl.password"] == "hunter2"
    assert config["ssl.ca.location"] == "/etc/ca.pem"
    assert config["ssl.endpoint.identification.algorithm"] == "https"
    assert "hunter2" not in repr(settings)


def test_oauthbearer_with_a_token_endpoint_uses_oidc() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauthbearer_token_endpoint_url="https://idp/token",
        sasl_oauthbearer_client_id="app",
        sasl_oauthbearer_client_secret="s",
    )

    config = settings.to_librdkafka()

    assert config["sasl.oauthbearer.method"] == "oidc"
    assert config["sasl.oauthbearer.client.secret"] == "s"


def test_extra_options_override_the_named_fields() -> None:
    settings = KafkaSettings(options={"client_id": "from-options"})
    assert settings.to_librdkafka()["client.id"] == "from-options"
