"""The seller's use cases: `projection` applies events to the read model, `dashboard` reads it."""
