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


def get_settings() -> Settings:
    return Settings()
