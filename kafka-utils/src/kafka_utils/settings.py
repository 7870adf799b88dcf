"""Connection settings shared by every client, and librdkafka option names.

`KafkaSettings` holds what a service usually reads from its environment (bootstrap
servers, client id, security). Anything else librdkafka understands goes into
`options`, or into the `**options` of a single client. Option names are accepted in
librdkafka's dotted form (`"auto.offset.reset"`) or in snake_case
(`auto_offset_reset`); `normalize_options` turns both into the dotted form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kafka_utils.errors import ConfigurationError

__all__ = ["KafkaSettings", "OptionValue", "normalize_options"]

OptionValue = str | int | float | bool

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]

# Names kept as they are: confluent-kafka's Python-level keys (callables and
# objects rather than librdkafka properties) and the few librdkafka properties
# whose names contain an underscore (librdkafka CONFIGURATION.md).
_VERBATIM_KEYS = frozenset(
    {
        "error_cb",
        "stats_cb",
        "throttle_cb",
        "oauth_cb",
        "logger",
        "on_commit",
        "log_level",
        "ssl_key",
        "ssl_certificate",
        "ssl_ca",
        "ssl_engine_callback_data",
    }
)


def normalize_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return `options` with every name in librdkafka's dotted form.

    `auto_offset_reset` becomes `auto.offset.reset`; dotted names are kept as given.
    Apart from the few names in `_VERBATIM_KEYS` (`log_level`, `ssl_key`, ...),
    librdkafka property names contain no underscores, so the mapping is exact.

    Raises:
        ConfigurationError: a name is empty or given twice in its two forms.
    """
    normalized: dict[str, Any] = {}
    for name, value in options.items():
        if not name or not name.strip():
            raise ConfigurationError("an option name must not be empty")

        dotted = name if name in _VERBATIM_KEYS else name.replace("_", ".")
        if dotted in normalized:
            raise ConfigurationError(f"option {dotted!r} is given twice (as {name!r})")
        normalized[dotted] = value
    return normalized


class KafkaSettings(BaseSettings):
    """How to reach and authenticate to a Kafka cluster.

    Every field can be set from the environment with the `KAFKA_` prefix, for
    example `KAFKA_BOOTSTRAP_SERVERS=10.0.0.1:9092` or `KAFKA_SASL_MECHANISM=PLAIN`.
    `KAFKA_OPTIONS` takes a JSON object of extra librdkafka options.

    Raises:
        ConfigurationError: a value is invalid; the message names the field.
    """

    model_config = SettingsConfigDict(
        env_prefix="KAFKA_", frozen=True, extra="forbid", validate_default=True
    )

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        description="Comma-separated host:port list of brokers to bootstrap from.",
    )
    client_id: str = Field(
        default="kafka-utils", min_length=1, description="Client id sent to brokers."
    )
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_oauthbearer_token_endpoint_url: str | None = None
    sasl_oauthbearer_client_id: str | None = None
    sasl_oauthbearer_client_secret: SecretStr | None = None
    sasl_oauthbearer_scope: str | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: SecretStr | None = None
    ssl_endpoint_identification_algorithm: Literal["https", "none"] = "https"
    options: dict[str, OptionValue] = Field(
        default_factory=dict,
        description="Extra librdkafka options for every client, dotted or snake_case.",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigurationError(_describe_validation_error(error)) from None

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_bootstrap_servers(cls, value: str) -> str:
        servers = [server.strip() for server in value.split(",") if server.strip()]
        if not servers:
            raise ValueError("at least one host:port is required")

        for server in servers:
            host, _, port = server.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not of the form host:port")
        return ",".join(servers)

    @field_validator("options")
    @classmethod
    def _check_options(cls, value: dict[str, OptionValue]) -> dict[str, OptionValue]:
        return normalize_options(value)

    def to_librdkafka(self) -> dict[str, Any]:
        """Return these settings as a librdkafka configuration dictionary."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
        }
        optional: dict[str, str | SecretStr | None] = {
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password,
            "sasl.oauthbearer.token.endpoint.url": (
                self.sasl_oauthbearer_token_endpoint_url
            ),
            "sasl.oauthbearer.client.id": self.sasl_oauthbearer_client_id,
            "sasl.oauthbearer.client.secret": self.sasl_oauthbearer_client_secret,
            "sasl.oauthbearer.scope": self.sasl_oauthbearer_scope,
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
            "ssl.key.password": self.ssl_key_password,
        }
        for name, value in optional.items():
            if value is not None:
                config[name] = (
                    value.get_secret_value() if isinstance(value, SecretStr) else value
                )

        if self.security_protocol in ("SSL", "SASL_SSL"):
            config["ssl.endpoint.identification.algorithm"] = (
                self.ssl_endpoint_identification_algorithm
            )
        if self.sasl_oauthbearer_token_endpoint_url is not None:
            # librdkafka CONFIGURATION.md: sasl.oauthbearer.method=oidc fetches tokens
            # from the endpoint itself, so no Python callback is needed.
            config["sasl.oauthbearer.method"] = "oidc"

        config.update(self.options)
        return config

    def _check_security(self) -> None:
        """Fail when SASL is selected without the fields its mechanism needs."""
        uses_sasl = self.security_protocol.startswith("SASL")
        if uses_sasl and self.sasl_mechanism is None:
            raise ConfigurationError(
                "sasl_mechanism: required when security_protocol is "
                f"{self.security_protocol}"
            )
        needs_password = self.sasl_mechanism in (
            "PLAIN",
            "SCRAM-SHA-256",
            "SCRAM-SHA-512",
        )
        if uses_sasl and needs_password:
            missing = [
                name
                for name in ("sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ConfigurationError(
                    f"{', '.join(missing)}: required for SASL {self.sasl_mechanism}"
                )

    def model_post_init(self, context: Any, /) -> None:
        """Check the fields that depend on each other once all are set."""
        self._check_security()


def _describe_validation_error(error: ValidationError) -> str:
    """One line per invalid field: `field: what is wrong (got value)`."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        lines.append(f"{field}: {problem['msg']}")
    return "invalid Kafka settings: " + "; ".join(lines)
