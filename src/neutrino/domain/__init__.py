"""Typed resource objects and pure rules: defaults, validation, derivation. No I/O."""
