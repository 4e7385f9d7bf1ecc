"""Background run execution: workers claim queued runs and drive them to an end state."""
