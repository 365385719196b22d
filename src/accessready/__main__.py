"""``python -m accessready``: the same entry point as the ``accessready`` command."""

from accessready.agent.cli.main import main

main()
