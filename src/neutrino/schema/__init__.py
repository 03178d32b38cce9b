"""Resource attribute tables (Neutron's attribute maps, as our data) and JSON <-> domain."""
