"""Tests for the pure protocol codecs in accessready.checks.protocols."""
