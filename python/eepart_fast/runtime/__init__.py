"""Run a plan: each partition exported to ONNX and served on its tier by a worker process, the tiers
joined by ZeroMQ, the links and the tiers' speeds emulated on one machine (or real, across hosts).

    export_partitions(net, plan, "deploy/", input_shape)       # torch side: runtime/export.py
    result = run_local("deploy/", topology, images, labels)      # workers + link emulator on 127.0.0.1
    result.records[0]["latency"], result.summary()

Nothing here but export.py imports torch: a worker needs numpy, onnxruntime and pyzmq only.
"""
from .errors import ManifestError, RunFailed, TensorMismatch
from .manifest import Manifest, load_manifest

__all__ = [
    "Manifest",
    "ManifestError",
    "RunFailed",
    "RunResult",
    "TensorMismatch",
    "load_manifest",
    "run_local",
]


def __getattr__(name):
    # The driver pulls in zmq; importing the package for a manifest should not.
    if name in ("run_local", "RunResult"):
        from .._extras import require

        require("zmq", "onnxruntime", what=f"eepart_fast.runtime.{name}")
        from . import driver
        return getattr(driver, name)
    raise AttributeError(name)
