"""Plug points (type drivers, IPAM, DHCP, mechanisms): protocols, built-ins, and the
entry-point loader."""
