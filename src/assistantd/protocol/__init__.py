"""The OpenAI wire contract: request models and the shapes of returned objects.

Imports nothing else from the package, so every layer may depend on it.
"""
