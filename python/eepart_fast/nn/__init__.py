"""Early-exit training and profiling with PyTorch (the `train` extra).

Import the submodules you need (backbones, earlyexit, data, train, run, profiling, cli); this package
itself imports nothing heavy, and records.py works with numpy alone. The engine never imports torch.
"""
