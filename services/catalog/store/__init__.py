"""The catalog's persistence (SQLAlchemy Core), one module a concern: `tables` (the schema on the service's
MetaData), `rows` (domain objects of rows), `listing` (a filter as SQL, list orders and page tokens), and the
repositories `products` and `reservations`."""
