"""Commands: see the module of the same name in newsanno (placeholder until its issue lands)."""
