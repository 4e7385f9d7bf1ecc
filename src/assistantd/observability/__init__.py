"""What an operator sees: Prometheus metrics and structured logs."""
