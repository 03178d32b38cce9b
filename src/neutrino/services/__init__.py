"""Use cases, one module per resource family. The only place a transaction is opened."""
