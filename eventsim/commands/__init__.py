"""Subcommands of the ``eventsim`` CLI: one module per group, each with ``register(subparsers)``."""
