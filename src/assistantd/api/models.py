"""/v1/models: the model ids this server answers to."""

from __future__ import annotations

import orjson
from starlette.routing import Route

from assistantd.api.deps import Call, v1
from assistantd.errors import NotFound


def _model(model_id: str, created: int) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "assistantd"}


async def list_models(call: Call) -> bytes:
    c = call.container
    data = [_model(m, c.started_at) for m in c.providers.model_ids()]
    return orjson.dumps({"object": "list", "data": data})


async def get_model(call: Call) -> bytes:
    c = call.container
    model_id: str = call.scope["path_params"]["model_id"]
    if model_id not in c.providers.model_ids():
        raise NotFound(
            f"The model '{model_id}' does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return orjson.dumps(_model(model_id, c.started_at))


routes = [
    Route("/models", v1(list_models), methods=["GET"]),
    Route("/models/{model_id:path}", v1(get_model), methods=["GET"]),
]
