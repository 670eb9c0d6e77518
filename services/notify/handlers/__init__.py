"""Notify's use cases, one module per group: intake (events -> records), delivery (the email job),
preferences, listing."""
