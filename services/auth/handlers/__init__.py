"""Auth use cases: one async function each, grouped by use case (sign-in, account, password reset, address book,
administration, signing keys, service access, provisioning). Each owns its unit of work; none knows about gRPC.
`deps` holds what they all work with, `sessions` what several share: a session's tokens and ending sessions."""
