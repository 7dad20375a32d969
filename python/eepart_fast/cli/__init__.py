"""The `eepart` command: commands.py builds the parser and runs the planning commands; nn.py and runtime.py
add the training and runtime commands; options.py holds the flags they share. Every command is registered
without its optional extras."""
from . import commands, nn, options, runtime
from .commands import build_parser, main

__all__ = ["build_parser", "main", "commands", "nn", "options", "runtime"]
