"""/v1/models: the model ids this server answers to."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from assistantd.api.deps import JSONBytes, container
from assistantd.errors import NotFound

router = APIRouter(tags=["Models"])


def _model(model_id: str, created: int) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "assistantd"}


@router.get("/models")
async def list_models(request: Request) -> JSONBytes:
    c = container(request)
    data = [_model(m, c.started_at) for m in c.settings.models]
    return JSONBytes(orjson.dumps({"object": "list", "data": data}))


@router.get("/models/{model_id:path}")
async def get_model(request: Request, model_id: str) -> JSONBytes:
    c = container(request)
    if model_id not in c.settings.models:
        raise NotFound(
            f"The model '{model_id}' does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return JSONBytes(orjson.dumps(_model(model_id, c.started_at)))
