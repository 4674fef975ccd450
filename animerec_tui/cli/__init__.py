"""The scriptable face: argparse commands over the core, Rich for people, ``--json`` for scripts."""
