"""The edge: Envoy in front of the services (REST/JSON, gRPC, gRPC-Web), configured from the contracts."""
