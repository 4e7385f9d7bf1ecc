"""Settings: every knob, read from `ASSISTANTD_*` environment variables or the CLI.

The README's configuration table lists each field below; keep them in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

EMBEDDED_MODEL_ID = "smollm2-135m-instruct"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANTD_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite at <data_dir>/assistantd.db. "
        "PostgreSQL: postgresql+asyncpg://user@host/db",
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        default="FULL",
        description="FULL makes every commit survive power loss; NORMAL only a process crash.",
    )
    db_pool_size: int = Field(default=8, ge=1, le=256)
    migrate_on_start: bool = True
    key_cache_ttl_s: float = Field(
        default=5.0,
        ge=0,
        description="How long API keys are cached; a revoked key stops working within this time.",
    )
    max_json_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="Largest File, uploaded whole or in parts."
    )
    max_upload_part_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    upload_ttl_s: int = Field(
        default=3600, ge=1, description="A pending Upload expires after this."
    )
    blob_dir: Path | None = Field(default=None, description="File bytes; default <data_dir>/blobs.")
    models: list[str] = Field(
        default_factory=lambda: [EMBEDDED_MODEL_ID],
        description="Model ids listed by GET /v1/models.",
    )
    access_log: bool = True
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assistantd.db').resolve()}"

    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url().startswith("sqlite")
