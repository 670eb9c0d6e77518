"""Cart use cases: one async function each (cart_lines.py). Each owns its unit of work; none knows about gRPC.
`deps` holds what they all work with."""
