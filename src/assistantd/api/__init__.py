"""HTTP layer: one router per resource; parse, call a service, return its JSON."""
