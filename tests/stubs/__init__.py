"""Local stand-ins for paid outside APIs, speaking their wire protocols to the real SDKs."""
