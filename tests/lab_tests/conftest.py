"""Load the lab fixtures for these tests (idempotent if tests/conftest.py already does)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register ``tests.lab.fixtures`` unless ``-p``/``pytest_plugins`` already did."""
    config.pluginmanager.import_plugin("tests.lab.fixtures")
