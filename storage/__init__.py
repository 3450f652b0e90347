"""SQLAlchemy 2.0 (async) implementation of the storage ports in `handlers.ports`."""
