"""Model name → Provider: providers given in process first, then the configured routes;
the embedded model serves the rest.

A route names its provider's kind; `_KINDS` makes one per route (docs/providers.md,
"Adding a provider"). Providers given in process (`Container.build(providers=...)`, by
the same `match` patterns as routes) are the caller's: the registry never closes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from assistantd.providers.base import Provider, ProviderError
from assistantd.providers.openai_compatible import OpenAICompatibleProvider
from assistantd.settings import ModelRoute, Settings

if TYPE_CHECKING:  # imported lazily: llama.cpp loads only when the embedded model is used
    from assistantd.providers.embedded import EmbeddedProvider

__all__ = ["ProviderRegistry"]


def _openai_compatible(route: ModelRoute) -> Provider:
    if not route.base_url:
        raise ProviderError(f"The route for '{route.match}' has no base_url.")
    api_key = os.environ.get(route.api_key_env) if route.api_key_env else None
    return OpenAICompatibleProvider(
        base_url=route.base_url,
        api_key=api_key,
        upstream_model=route.upstream_model,
        context_window=route.context_window,
        timeout_s=route.timeout_s,
        max_retries=route.max_retries,
    )


# A route's `provider` → how to make its Provider (the embedded model is one shared
# instance, made below, not per route).
_KINDS: dict[str, Callable[[ModelRoute], Provider]] = {"openai": _openai_compatible}


class ProviderRegistry:
    def __init__(self, settings: Settings, given: Mapping[str, Provider] | None = None) -> None:
        self.settings = settings
        self._given = [(ModelRoute(match=match), p) for match, p in (given or {}).items()]
        self._upstreams: dict[int, Provider] = {}
        self._embedded: EmbeddedProvider | None = None

    def model_ids(self) -> list[str]:
        """What /v1/models lists: exact route names, then the embedded model."""
        routes = [r for r, _ in self._given] + list(self.settings.model_routes)
        names = [r.match for r in routes if not r.match.endswith("*")]
        return [*dict.fromkeys([*names, *self.settings.models])]

    def route(self, model: str) -> ModelRoute | None:
        given = next((r for r, _ in self._given if r.matches(model)), None)
        return given or next((r for r in self.settings.model_routes if r.matches(model)), None)

    def metric_label(self, model: str) -> str:
        """What `/metrics` may call `model`: a name the operator configured (the route's
        `match`, or an id `/v1/models` lists), else `other`. Never the client's string:
        that would leak other tenants' model names and grow series without bound."""
        route = self.route(model)
        if route is not None:
            return route.match
        return model if model in self.settings.models else "other"

    def for_model(self, model: str) -> Provider:
        given = next((p for r, p in self._given if r.matches(model)), None)
        if given is not None:
            return given
        route = self.route(model)
        if route is None or route.provider == "embedded":
            return self._embedded_provider()
        key = id(route)
        if key not in self._upstreams:
            self._upstreams[key] = _KINDS[route.provider](route)
        return self._upstreams[key]

    def _embedded_provider(self) -> EmbeddedProvider:
        if self._embedded is None:
            from assistantd.providers.embedded import EmbeddedProvider

            self._embedded = EmbeddedProvider(
                self.settings.embedded_model_path,
                context_window=self.settings.embedded_context_window,
                max_tokens=self.settings.embedded_max_tokens,
            )
        return self._embedded

    async def schema_problem(self, model: str, schema: Any) -> str | None:
        """Why `schema` cannot constrain `model`'s output, or None. Only the embedded model
        turns schemas into grammars here; upstreams judge their own."""
        route = self.route(model)
        if route is not None and (route.provider != "embedded" or self._is_given(model)):
            return None
        return await self._embedded_provider().schema_problem(schema)

    def _is_given(self, model: str) -> bool:
        return any(r.matches(model) for r, _ in self._given)

    async def warm_up(self) -> None:
        """Load the embedded model's tokenizer and start its process, so the first run
        does not wait for them (start-up runs this in the background)."""
        await self._embedded_provider().warm_up()

    async def aclose(self) -> None:
        for upstream in self._upstreams.values():
            await upstream.aclose()
        if self._embedded is not None:
            await self._embedded.aclose()
