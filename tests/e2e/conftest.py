"""The end-to-end tests share the launcher fixture of tests/e2e/test_launcher.py (`launch`)."""

from tests.e2e.test_launcher import launch

__all__ = ["launch"]
