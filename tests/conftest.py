"""Shared pytest setup: the namespace lab's fixtures are available to every test."""

pytest_plugins = ["tests.lab.fixtures"]
