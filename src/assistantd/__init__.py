"""assistantd: a self-hosted, drop-in server for the OpenAI Assistants API (v2)."""

__version__ = "0.1.0"
__all__ = ["__version__"]
