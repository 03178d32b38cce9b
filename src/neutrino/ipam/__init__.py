"""Pluggable IP address and prefix allocation (the IPAM plug point)."""
