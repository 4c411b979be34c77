"""Settings from the environment and `.env`, each documented in `.env.example`."""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
HEALTH_PATH = "/healthz"
MINIAPP_PATH = "/app"  # the Mini App's page; its files and data are under it
DEFAULT_PORT = 8080
TELEGRAM_API_URL = "https://api.telegram.org"
# The only per-IP figure 3Commas has published (3commas-official-api-docs #75): every user's
# calls leave from the bot's one IP address, so this caps the process.
DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND = 15
# What Telegram accepts as a webhook's secret_token.
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_API_URL
    threecommas_api_url: str = "https://api.3commas.io"
    bot_encryption_key: SecretStr | None = None
    bot_encryption_key_file: Path | None = None
    database_path: Path = Path("data/bot.sqlite3")
    log_level: str = "INFO"

    threecommas_connect_timeout: float = Field(default=5.0, gt=0)
    threecommas_total_timeout: float = Field(default=20.0, gt=0)
    threecommas_requests_per_minute: int = Field(default=100, ge=1)
    # 0 lifts the cap (an operator with an arrangement with 3Commas)
    threecommas_max_requests_per_second: float = Field(
        default=DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND, ge=0, le=100_000
    )
    refresh_cooldown_seconds: float = Field(default=5.0, ge=0)
    # Making a key pair costs CPU, and each pair's private key is held by the log filter.
    key_pair_cooldown_seconds: float = Field(default=20.0, ge=0)
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    subscription_min_interval_seconds: int = Field(default=900, ge=1)
    max_subscriptions_per_chat: int = Field(default=20, ge=1)
    max_subscriptions_per_user: int = Field(default=50, ge=1)
    max_alerts_per_chat: int = Field(default=20, ge=1)
    max_alerts_per_user: int = Field(default=50, ge=1)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    telegram_chat_burst: int = Field(default=5, ge=1)
    connect_timeout_seconds: float = Field(default=300.0, gt=0)
    progress_delay_ms: int = Field(default=500, ge=0, le=60_000)
    telegram_startup_retry_seconds: float = Field(default=60.0, gt=0)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    # The public address of the Mini App (MINIAPP_PATH); unset: WEBHOOK_URL's origin + /app.
    miniapp_url: str | None = None
    # A day, as Telegram's own clients keep a Mini App open at most that long.
    miniapp_auth_max_age_seconds: int = Field(default=86_400, ge=1, le=366 * 86_400)
    bot_public_ip: str | None = None
    # Outgoing proxies, read like every setting (environment, then .env), any letter case.
    https_proxy: str | None = None
    http_proxy: str | None = None
    all_proxy: str | None = None
    no_proxy: str | None = None

    @field_validator(
        "telegram_bot_token",
        "bot_encryption_key",
        "webhook_url",
        "webhook_secret",
        "port",
        "miniapp_url",
        "bot_public_ip",
        "https_proxy",
        "http_proxy",
        "all_proxy",
        "no_proxy",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("bot_encryption_key_file", mode="before")
    @classmethod
    def _blank_path_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            head, _, tail = value.get_secret_value().partition(":")
            if not head.isdigit() or not tail:
                raise ValueError("expected the token from @BotFather, like 123456:ABC-DEF...")
        return value

    @field_validator("telegram_api_url", "threecommas_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected the public https:// URL Telegram should call")
        # A self-hosted Bot API server (--local) may call http://; Telegram's calls only https.
        if parts.scheme == "http" and info.data.get("telegram_api_url") == TELEGRAM_API_URL:
            raise ValueError(
                "Telegram calls only https:// URLs (http:// needs a self-hosted TELEGRAM_API_URL)"
            )
        if (parts.path or "/") == HEALTH_PATH:
            raise ValueError(f"{HEALTH_PATH} is the health check; give the webhook another path")
        if _under(parts.path, MINIAPP_PATH):
            raise ValueError(f"{MINIAPP_PATH} is the Mini App's; give the webhook another path")
        return value

    @field_validator("miniapp_url")
    @classmethod
    def _miniapp_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected the public https:// URL of the Mini App, ending in /app")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("expected 1-256 characters, only A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("bot_public_ip")
    @classmethod
    def _public_ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError("expected an IPv4 or IPv6 address, like 203.0.113.7") from None

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> str:
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("allowed_user_ids", mode="before")
    @classmethod
    def _user_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("expected Telegram user ids separated by commas, like 123,456")
            return frozenset(int(part) for part in parts)
        return value

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    @property
    def webhook_path(self) -> str:
        """Where the webhook takes updates: the path of WEBHOOK_URL (the proxy keeps it)."""
        assert self.webhook_url is not None
        return urlsplit(self.webhook_url).path or "/"

    @property
    def proxies(self) -> dict[str, str]:
        """The proxy settings in urllib's form, for bot.proxies.proxy_for."""
        named = {
            "https": self.https_proxy,
            "http": self.http_proxy,
            "all": self.all_proxy,
            "no": self.no_proxy,
        }
        return {scheme: value.strip() for scheme, value in named.items() if value}

    @property
    def miniapp_address(self) -> str | None:
        """MINIAPP_URL, else WEBHOOK_URL's origin + /app; None when neither is set."""
        if self.miniapp_url is not None:
            return self.miniapp_url
        if self.webhook_url is None:
            return None
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc}{MINIAPP_PATH}"

    @property
    def miniapp_button_url(self) -> str | None:
        """The Mini App's address when Telegram may open it (https only), else None."""
        address = self.miniapp_address
        return address if address is not None and address.startswith("https://") else None

    @property
    def listen_port(self) -> int:
        return DEFAULT_PORT if self.port is None else self.port


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation failure into one ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {reason}") from None
