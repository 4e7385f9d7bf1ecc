"""The provider registry: which provider serves a model, and what metrics may call it."""

from __future__ import annotations

from assistantd.providers.registry import ProviderRegistry
from assistantd.settings import ModelRoute, Settings


def test_metric_labels_name_only_what_the_operator_configured() -> None:
    routes = [ModelRoute(match="gpt-4o*", provider="openai", base_url="http://127.0.0.1:9/v1")]
    registry = ProviderRegistry(Settings(model_routes=routes, models=["smol"]))
    assert registry.metric_label("gpt-4o-mini-tenant-secret") == "gpt-4o*"
    assert registry.metric_label("smol") == "smol"
    labels = {registry.metric_label(f"client-chosen-{n}") for n in range(300)}
    assert labels == {"other"}
