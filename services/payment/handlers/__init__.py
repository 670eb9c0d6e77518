"""Payment use cases, one async function each, grouped by use case: paying (create, read, confirm), refunds
(RefundPayment and what order events ask), stripe_webhooks. Each owns its unit of work (or, for order events,
works in the consumer's); none knows about gRPC. `deps` holds what they all work with."""
