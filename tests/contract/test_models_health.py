"""GET /v1/models and GET /health."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.servers import Server


def test_models_lists_what_the_server_serves(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert [m.id for m in models] == ["smollm2-135m-instruct"]
    assert models[0].object == "model"
    assert client.models.retrieve("smollm2-135m-instruct").id == "smollm2-135m-instruct"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_health_is_outside_v1(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}  # no Redis configured
    assert httpx.get(f"{server.base_url}/v1/health").status_code == 404
