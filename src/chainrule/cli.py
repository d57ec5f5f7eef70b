"""The ``chainrule`` command: ``chainrule tour`` and the other subcommands.

Each subcommand lives in its own module and registers itself in ``COMMANDS``
with a function that adds its arguments and one that runs it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

__all__ = ["main", "COMMANDS"]

# name -> (help, add_arguments(parser), run(args) -> exit code); filled by the command modules
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}

# Modules that register subcommands when imported (imported lazily, only by main()).
_COMMAND_MODULES = ["chainrule.tour", "chainrule.demo", "chainrule.run", "chainrule.viz.cli",
                    "chainrule.distributed.launch"]


def main(argv: list[str] | None = None) -> int:
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(name)
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="chainrule: automatic differentiation you can read, with PyTorch's API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(COMMANDS[args.command][2](args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
