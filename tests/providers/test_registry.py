"""The provider registry: which provider serves a model, and what metrics may call it."""

from __future__ import annotations

from assistantd.providers.base import ChatRequest
from assistantd.providers.openai_compatible import OpenAICompatibleProvider
from assistantd.providers.registry import ProviderRegistry
from assistantd.providers.scripted import Scripted, ScriptedProvider
from assistantd.settings import ModelRoute, Settings


def test_metric_labels_name_only_what_the_operator_configured() -> None:
    routes = [ModelRoute(match="gpt-4o*", provider="openai", base_url="http://127.0.0.1:9/v1")]
    registry = ProviderRegistry(Settings(model_routes=routes, models=["smol"]))
    assert registry.metric_label("gpt-4o-mini-tenant-secret") == "gpt-4o*"
    assert registry.metric_label("smol") == "smol"
    labels = {registry.metric_label(f"client-chosen-{n}") for n in range(300)}
    assert labels == {"other"}


async def test_providers_given_in_process_come_before_every_route() -> None:
    routes = [ModelRoute(match="scripted*", provider="openai", base_url="http://127.0.0.1:9/v1")]
    given = ScriptedProvider()
    registry = ProviderRegistry(
        Settings(model_routes=routes, models=["smol"]), {"scripted-a*": given, "exact": given}
    )
    assert registry.for_model("scripted-a1") is given
    assert registry.for_model("exact") is given
    upstream = registry.for_model("scripted-b")  # the route still serves the rest
    assert isinstance(upstream, OpenAICompatibleProvider)
    assert registry.model_ids() == ["exact", "smol"]
    # The embedded model's grammar judges no schema for a given provider.
    assert await registry.schema_problem("scripted-a1", {"type": "object"}) is None
    await registry.aclose()  # closes the upstream it made; the given one stays the caller's
    given.script(Scripted(text="still usable"))
    assert [e async for e in given.stream(ChatRequest(model="exact", messages=[]))]
