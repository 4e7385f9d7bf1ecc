"""Tool definitions and tool_resources, as assistants, threads and runs carry them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from assistantd.protocol.common import Metadata, RequestModel

__all__ = [
    "AssistantTool",
    "CodeInterpreterTool",
    "FileSearchTool",
    "FunctionTool",
    "ResponseFormat",
    "ToolResources",
]


class CodeInterpreterTool(RequestModel):
    type: Literal["code_interpreter"]


class RankingOptions(RequestModel):
    ranker: Literal["auto", "default_2024_08_21"] = "auto"
    score_threshold: float = Field(ge=0, le=1)


class FileSearchOptions(RequestModel):
    max_num_results: int | None = Field(default=None, ge=1, le=50)
    ranking_options: RankingOptions | None = None


class FileSearchTool(RequestModel):
    type: Literal["file_search"]
    file_search: FileSearchOptions | None = None


class FunctionDefinition(RequestModel):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = False


class FunctionTool(RequestModel):
    type: Literal["function"]
    function: FunctionDefinition


AssistantTool = Annotated[
    CodeInterpreterTool | FileSearchTool | FunctionTool, Field(discriminator="type")
]


class CodeInterpreterResources(RequestModel):
    file_ids: list[str] = Field(default_factory=list, max_length=20)


class AutoChunking(RequestModel):
    type: Literal["auto"]


class StaticChunkingParams(RequestModel):
    max_chunk_size_tokens: int = Field(ge=100, le=4096)
    chunk_overlap_tokens: int = Field(ge=0)


class StaticChunking(RequestModel):
    type: Literal["static"]
    static: StaticChunkingParams


class VectorStoreHelper(RequestModel):
    file_ids: list[str] = Field(default_factory=list)
    chunking_strategy: (
        Annotated[AutoChunking | StaticChunking, Field(discriminator="type")] | None
    ) = None
    metadata: Metadata = None


class FileSearchResources(RequestModel):
    vector_store_ids: list[str] | None = Field(default=None, max_length=1)
    vector_stores: list[VectorStoreHelper] | None = Field(default=None, max_length=1)


class ToolResources(RequestModel):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


class JsonSchemaFormat(RequestModel):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = False


class TextFormat(RequestModel):
    type: Literal["text"]


class JsonObjectFormat(RequestModel):
    type: Literal["json_object"]


class JsonSchemaResponseFormat(RequestModel):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = (
    Literal["auto"]
    | Annotated[
        TextFormat | JsonObjectFormat | JsonSchemaResponseFormat, Field(discriminator="type")
    ]
)
