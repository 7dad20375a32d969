"""Run a plan: each partition exported to ONNX and served on its tier by a worker process, the tiers
joined by a transport (ZeroMQ, authenticated and encrypted), the links and the tiers' speeds emulated on
one machine (or real, across hosts).

    export_partitions(net, plan, "deploy/", input_shape)       # torch side: runtime/export.py
    result = run_local("deploy/", topology, images, labels)      # workers + link emulator on 127.0.0.1
    result.records[0]["latency"], result.summary()

    export_table(net, planner.plan_table("bandwidth", 1, 1e6, 50e6, min_accuracy=0.9), "deploy/", input_shape)
    run_local("deploy/", topology, images, labels, traces={"1": "step.csv"})  # measures link 1, switches plans

Public functions take their data first (a deployment folder, a manifest, a transport) and everything else
by keyword only. Errors are typed (errors.py): tell them apart by class, never by message.

Layers: transport.py is the wire's interface (Transport, Sender: send, receive, poll, close) with the
framing rules and `receive_or_refuse`; zmq_transport.py its ZeroMQ implementation, the only module that
imports zmq; network.py the factory above both (`open_transport`); schema.py what each message may hold
(and the limits the others share: header size, key length); worker.py, netem.py (link emulator) and driver.py
speak only the interface. Nothing here but export.py imports torch: a worker needs numpy, onnxruntime
and pyzmq only.
"""
import importlib as _importlib

from .. import _extras
from .adapt import LinkEstimator, Switcher
from .errors import Malformed, ManifestError, RunFailed, TensorMismatch, TransportError
from .manifest import Manifest, load_manifest
from .network import open_transport
from .tablespec import table_spec
from .trace import Trace, load_trace, save_trace
from .transport import Sender, Transport, receive_or_refuse

__all__ = [
    "LinkEstimator",
    "Malformed",
    "Manifest",
    "ManifestError",
    "RunFailed",
    "RunResult",
    "Sender",
    "Switcher",
    "TensorMismatch",
    "Trace",
    "Transport",
    "TransportError",
    "load_manifest",
    "load_trace",
    "open_transport",
    "receive_or_refuse",
    "run_local",
    "save_trace",
    "table_spec",
    # the modules imported above
    "adapt",
    "errors",
    "manifest",
    "network",
    "schema",
    "tablespec",
    "trace",
    "transport",
]
# Loaded on first use, by __getattr__: the driver's names (it starts processes and needs the transport's
# implementation) and the modules not imported above (onnxruntime, pyzmq or torch behind some of them).
# The modules stay out of __all__, so a star import loads none of them (export.py would need torch).
_DRIVER = ("RunResult", "run_local")
_MODULES = ("arguments", "driver", "executor", "export", "netem", "ort_profile", "protocol", "security",
            "worker", "zmq_transport")
_APPLICATIONS = (*_DRIVER, *_MODULES)


def __getattr__(name):
    # The driver starts processes and needs the transport's implementation; importing the package for a
    # manifest should not.
    if name in _DRIVER:
        _extras.require("zmq", "onnxruntime", what=f"eepart_fast.runtime.{name}")
        from . import driver
        return getattr(driver, name)
    if name in _MODULES:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
