"""Catalog use cases: one async function each, grouped by use case (products, browsing, product images, searching,
reservations). Each owns its unit of work; none knows about gRPC. `deps` holds what they all work with."""
