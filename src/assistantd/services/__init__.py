"""Use cases and rules: what each endpoint does, independent of HTTP and SQL."""
