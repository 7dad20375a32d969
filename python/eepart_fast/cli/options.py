"""Flags every command group shares, defined once (commands.py, nn.py and runtime.py import them here).

No torch, onnx or pyzmq: importing this is part of `eepart --help` on a bare install.
"""
from __future__ import annotations

import argparse


def add_progress(parser: argparse.ArgumentParser, what: str = "no progress bars") -> None:
    """--no-progress: sets ``args.progress`` to False (True without the flag), on every command alike."""
    parser.add_argument("--no-progress", dest="progress", action="store_false", help=what)
