"""accessready: is a customer's environment ready for remote support?

The package is assembled from three top-level folders of the source tree:
``agent/`` (CLI, profile, runner, transports), ``checks/`` (check plugins and protocol
codecs) and ``reports/`` (renderers).
"""

__version__ = "0.1.0"
