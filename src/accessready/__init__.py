"""accessready: is a customer's environment ready for remote support?

The package is assembled from three top-level folders of the source tree, in layers whose
imports run one way (bottom to top; ``tests/unit/test_layers.py`` checks it):

* ``agent/core`` (``accessready.agent.core``): the result and profile model, verdict rules,
  the one failure table; ``checks/protocols``: pure protocol codecs;
* ``agent/io``: sockets, TLS, name resolution, secrets, local-system facts, and
  ``agent/io/transports`` (SSH, WinRM);
* ``agent/plugin``: the check API, the registry, the runner;
* ``checks/common`` and ``checks/<family>`` (``accessready.checks``): the checks, one folder
  per family with its ``CHECKS`` list;
* ``reports`` (``accessready.reports``): the renderers;
* ``agent/app`` (run, audit, history), ``agent/demo`` (the demo and its simulators) and
  ``agent/cli`` (the ``accessready`` command) on top.
"""

__version__ = "0.1.0"
