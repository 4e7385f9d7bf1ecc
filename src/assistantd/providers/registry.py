"""Model name → Provider, by the configured routes; the embedded model serves the rest."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from assistantd.providers.base import Provider, ProviderError
from assistantd.providers.openai_compatible import OpenAICompatibleProvider
from assistantd.settings import ModelRoute, Settings

if TYPE_CHECKING:  # imported lazily: llama.cpp loads only when the embedded model is used
    from assistantd.providers.embedded import EmbeddedProvider

__all__ = ["ProviderRegistry"]


class ProviderRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._upstreams: dict[int, OpenAICompatibleProvider] = {}
        self._embedded: EmbeddedProvider | None = None

    def model_ids(self) -> list[str]:
        """What /v1/models lists: exact route names, then the embedded model."""
        names = [r.match for r in self.settings.model_routes if not r.match.endswith("*")]
        return [*dict.fromkeys([*names, *self.settings.models])]

    def route(self, model: str) -> ModelRoute | None:
        return next((r for r in self.settings.model_routes if r.matches(model)), None)

    def metric_label(self, model: str) -> str:
        """What `/metrics` may call `model`: a name the operator configured (the route's
        `match`, or an id `/v1/models` lists), else `other`. Never the client's string:
        that would leak other tenants' model names and grow series without bound."""
        route = self.route(model)
        if route is not None:
            return route.match
        return model if model in self.settings.models else "other"

    def for_model(self, model: str) -> Provider:
        route = self.route(model)
        if route is None or route.provider == "embedded":
            return self._embedded_provider()
        key = id(route)
        if key not in self._upstreams:
            if not route.base_url:
                raise ProviderError(f"The route for '{route.match}' has no base_url.")
            api_key = os.environ.get(route.api_key_env) if route.api_key_env else None
            self._upstreams[key] = OpenAICompatibleProvider(
                base_url=route.base_url,
                api_key=api_key,
                upstream_model=route.upstream_model,
                context_window=route.context_window,
                timeout_s=route.timeout_s,
                max_retries=route.max_retries,
            )
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
        if route is not None and route.provider != "embedded":
            return None
        return await self._embedded_provider().schema_problem(schema)

    async def warm_up(self) -> None:
        """Load the embedded model's tokenizer and start its process, so the first run
        does not wait for them (start-up runs this in the background)."""
        await self._embedded_provider().warm_up()

    async def aclose(self) -> None:
        for upstream in self._upstreams.values():
            await upstream.aclose()
        if self._embedded is not None:
            await self._embedded.aclose()
