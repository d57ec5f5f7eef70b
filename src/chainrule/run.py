"""``chainrule run SCRIPT``: run PyTorch code with ``import torch`` meaning chainrule.

The script's ``import torch``, ``from torch import nn`` and
``from torch.utils.data import DataLoader`` resolve to chainrule's modules (see
``_alias``), so textbook code runs unchanged for the features chainrule covers.
"""

from __future__ import annotations

import argparse
import runpy
import sys

import chainrule

from .cli import COMMANDS

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    sys.modules["torch"] = chainrule
    sys.argv = [args.script, *args.args]
    runpy.run_path(args.script, run_name="__main__")
    return 0


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("script", help="a Python file written for PyTorch")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")


COMMANDS["run"] = ("run a PyTorch script with 'import torch' meaning chainrule", _add_arguments, run)
