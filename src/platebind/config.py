"""Settings, read once from the environment (prefix ``PLATEBIND_``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./platebind.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLATEBIND_", extra="ignore")

    # DATABASE_URL without the prefix is honoured because every hosting platform sets that name.
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("PLATEBIND_DATABASE_URL", "DATABASE_URL"),
    )
    transfer_code_max_failures_per_hour: int = 10
    transfer_code_valid_days: int = 7
    # HMAC key for national IDs (vehicle registry, portal). A secret: None unless set, and
    # refused where used when unset, short or a placeholder (vehicles.service.id_hash_key).
    id_hash_key: SecretStr | None = None

    # Portal. Session cookies are Secure unless turned off for plain-HTTP development.
    portal_secure_cookies: bool = True
    # Where members reach the portal; used for links in e-mails.
    portal_base_url: str = "http://127.0.0.1:8000"

    # E-mail (portal notices). No host: notices are kept in the outbox and shown in the portal.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "platebind <no-reply@platebind.invalid>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False


def get_settings() -> Settings:
    return Settings()
