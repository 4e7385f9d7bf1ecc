"""Run events between the worker and the API: what streams to clients as server-sent events."""
