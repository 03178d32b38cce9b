"""The HTTP edge: routes, Neutron query semantics, auth, error bodies. No business rules."""
