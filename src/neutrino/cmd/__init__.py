"""Composition root: configuration, engines, wiring, the command line."""
