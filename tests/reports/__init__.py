"""Tests of the renderers: HTML, JUnit, Prometheus, Nagios; hostile input; real browser."""
