"""Repositories: one module per resource family, rows <-> domain objects. No business rules."""
