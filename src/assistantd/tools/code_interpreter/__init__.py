"""code_interpreter: a sandboxed, stateful Python per thread (see tool.py)."""
