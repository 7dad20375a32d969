"""The worker's command-line arguments, shared by `eepart worker` and `python -m eepart_fast.runtime.worker`.
Free of zmq and onnxruntime, so the CLI can list them on a bare install."""
from __future__ import annotations

import argparse


def add_security_arguments(p: argparse.ArgumentParser, who: str) -> None:
    p.add_argument("--key", default=None, metavar="FILE",
                   help=f"this {who}'s secret key (NAME.key_secret, written by `eepart keys`; mode 0600)")
    p.add_argument("--allow", nargs="+", default=None, metavar="KEYS",
                   help="the public keys it accepts: NAME.key files or folders of them (the driver's and every "
                        "worker's, each named after its tier: edge.key); anyone else gets no connection")
    p.add_argument("--insecure", action="store_true",
                   help="no authentication, no encryption: anyone who reaches the port controls it "
                        "(only on a network you trust entirely)")


def add_worker_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tier", required=True, help="the tier this worker serves (a name from the manifest)")
    p.add_argument("--bind", required=True, help="ZeroMQ address to listen on, e.g. tcp://0.0.0.0:5601 "
                   "(tcp://127.0.0.1:* picks a free port)")
    p.add_argument("--artifacts", required=True, help="the exported folder (manifest.json and part-*.onnx)")
    add_security_arguments(p, "worker")
    p.add_argument("--once", action="store_true",
                   help="stop when the first run ends (default: serve one run after another)")
    p.add_argument("--announce", default=None, help="a driver's address to say hello to (local runs)")
    p.add_argument("--idle-timeout", type=float, default=0.0,
                   help="stop after this many seconds without word from a driver (0: wait forever)")
    p.add_argument("--keys-stdin", action="store_true", help=argparse.SUPPRESS)  # eepart run's own workers
