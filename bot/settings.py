"""Service settings, read from the environment and nowhere else."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

_NO_KEY = "GITHUB_PRIVATE_KEY: required but not set (PEM text, or GITHUB_PRIVATE_KEY_PATH: a file)"


class SettingsError(Exception):
    """The environment does not describe a runnable service; `problems` names each variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def render(self) -> str:
        lines = ["lts-bot cannot start: fix these environment variables:"]
        lines += [f"  - {p}" for p in self.problems]
        lines.append("See README.md, section 'Configuration', for what each one means.")
        return "\n".join(lines)


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    GITHUB_APP_ID: int = Field(gt=0)
    GITHUB_PRIVATE_KEY: SecretStr | None = None
    GITHUB_PRIVATE_KEY_PATH: Path | None = None
    GITHUB_WEBHOOK_SECRET: SecretStr
    GITHUB_API_URL: str = "https://api.github.com"
    GITHUB_APP_SLUG: str = "lts-bot"
    HOST: str = "0.0.0.0"
    PORT: int = Field(default=8080, ge=0, le=65535)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["json", "console"] = "json"
    # Work queue and shutdown tuning; the defaults suit one small instance.
    LTS_BOT_QUEUE_SIZE: int = Field(default=1000, ge=1)
    LTS_BOT_WORKERS: int = Field(default=8, ge=1, le=256)
    LTS_BOT_SHUTDOWN_GRACE: float = Field(default=25.0, ge=0)
    LTS_BOT_DEDUP_TTL: float = Field(default=3 * 24 * 3600.0, gt=0)
    LTS_BOT_DEDUP_SIZE: int = Field(default=50_000, ge=1)
    # Seconds a GitHub API request may take before it is abandoned (and retried if safe).
    LTS_BOT_HTTP_TIMEOUT: float = Field(default=30.0, gt=0)
    # GitHub asks integrators to space out content-creating requests per installation.
    LTS_BOT_WRITE_INTERVAL: float = Field(default=1.0, ge=0)
    # GitHub never retries a failed delivery: every this many seconds (0: never) the
    # service asks it to redeliver, once each, the failed deliveries of the last
    # LOOKBACK hours (GitHub keeps 72), at most MAX per run.
    LTS_BOT_REDELIVER_INTERVAL: float = Field(default=3600.0, ge=0)
    LTS_BOT_REDELIVER_MAX: int = Field(default=50, ge=1)
    LTS_BOT_REDELIVER_LOOKBACK: float = Field(default=24.0, gt=0, le=72)
    # The sweep re-evaluates open issues and PRs every this many seconds (0: never),
    # spending at most BUDGET (a fraction) of an installation's hourly rate limit per run.
    LTS_BOT_SWEEP_INTERVAL: float = Field(default=300.0, ge=0)
    LTS_BOT_SWEEP_BUDGET: float = Field(default=0.1, gt=0, le=1)

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("LOG_FORMAT", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("GITHUB_API_URL")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.github.com")
        return value.rstrip("/")

    @field_validator("GITHUB_WEBHOOK_SECRET")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _one_key(self) -> Settings:
        if self.GITHUB_PRIVATE_KEY is None and self.GITHUB_PRIVATE_KEY_PATH is None:
            raise ValueError(_NO_KEY)
        return self

    def private_key_pem(self) -> str:
        """The App's private key as PEM text, from the variable or the file."""
        if self.GITHUB_PRIVATE_KEY is not None:
            # Platforms that cannot hold newlines in a variable often store them as "\n".
            return self.GITHUB_PRIVATE_KEY.get_secret_value().replace("\\n", "\n")
        assert self.GITHUB_PRIVATE_KEY_PATH is not None
        return self.GITHUB_PRIVATE_KEY_PATH.read_text(encoding="utf-8")

    @property
    def webhook_secret(self) -> bytes:
        return self.GITHUB_WEBHOOK_SECRET.get_secret_value().encode()

    @property
    def log_level(self) -> int:
        level: int = logging.getLevelNamesMapping()[self.LOG_LEVEL]
        return level


def _check_private_key(settings: Settings) -> list[str]:
    if settings.GITHUB_PRIVATE_KEY is not None:
        name = "GITHUB_PRIVATE_KEY"
    else:
        name = "GITHUB_PRIVATE_KEY_PATH"
    try:
        pem = settings.private_key_pem()
    except OSError as exc:
        return [f"{name}: cannot read the key file ({exc.strerror or type(exc).__name__})"]
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return [f"{name}: not a PEM private key (expected '-----BEGIN RSA PRIVATE KEY-----')"]
    if not isinstance(key, RSAPrivateKey):
        return [f"{name}: the App key must be an RSA key (GitHub signs App JWTs with RS256)"]
    return []


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise SettingsError naming all bad variables at once."""
    env = dict(os.environ if environ is None else environ)
    try:
        # pydantic-settings reads os.environ itself; hand it exactly the mapping we were given.
        settings = Settings.model_validate(
            {k: v for k, v in env.items() if k in Settings.model_fields}
        )
    except ValidationError as exc:
        problems = _describe(exc)
        # The key check runs only once the fields are valid; name it with the rest.
        if not env.get("GITHUB_PRIVATE_KEY") and not env.get("GITHUB_PRIVATE_KEY_PATH"):
            problems = sorted({*problems, _NO_KEY})
        raise SettingsError(problems) from None
    problems = _check_private_key(settings)
    if problems:
        raise SettingsError(problems)
    return settings


def _describe(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for err in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(p) for p in err["loc"])
        if not name:
            problems.append(err["msg"].removeprefix("Value error, "))
        elif err["type"] == "missing":
            problems.append(f"{name}: required but not set")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {msg}")
    return problems
