"""Simulated customer services on loopback, for ``accessready demo`` and the tests."""
