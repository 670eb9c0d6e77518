"""The order service's use cases, one module per group: placing, reading, fulfilment (ship, deliver, address,
cancel, expiry), payments (the payment service's events)."""
