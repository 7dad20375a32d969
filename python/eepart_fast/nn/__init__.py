"""Early-exit training and profiling with PyTorch (the `train` extra).

Import the submodules you need (backbones, earlyexit, data, train, run, profiling, validate); this package
itself imports nothing heavy, and choices.py (what the commands accept), validate.py's report and energy/
(the energy readers of `eepart profile --energy`) need no torch. The command line is eepart_fast.cli.nn;
the per-sample records are eepart_fast.io.records. The engine never imports torch.
"""
