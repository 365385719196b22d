"""accessready's test lab: real Debian daemons in network namespaces of the tests' own making.

Start it with the pytest fixtures in ``tests.lab.fixtures`` or by hand with
``python -m tests.lab up``; see README.md in this folder.
"""

from .core import Lab, Service
from .proc import LabError

__all__ = ["Lab", "LabError", "Service"]
