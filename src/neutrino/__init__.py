"""neutrino: the OpenStack Networking (Neutron) v2.0 API on typed objects, SQL and Linux."""
