"""The runtime's layers: ZeroMQ named in one module (transport behind one interface), the shared
receive-or-refuse step, typed transport errors, and the public API's convention (data first, the rest
keyword-only; numpydoc docstrings whose examples run).

Sockets bind 127.0.0.1 only; every wait is bounded.
"""
import ast
import doctest
import inspect
from pathlib import Path

import pytest

import eepart_fast
from eepart_fast.runtime import schema
from eepart_fast.runtime.errors import AddressError, Malformed, MessageTooLarge, SendTimeout, TransportError
from eepart_fast.runtime.transport import RawMessage, Received, Sender, Transport, decode, encode, receive_or_refuse

PACKAGE = Path(eepart_fast.__file__).resolve().parent


def _imports_of(path: Path) -> set:
    """Top-level module names a source file imports (import x, from x import y, import_module('x'))."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
            names.add(node.args[0].value.split(".")[0])
    return names


def _relative_imports_of(path: Path, top_level: bool = False) -> set:
    """Sibling modules a source file imports relatively (from .x import y, from . import x); top_level: only
    those its module body imports (not those a function imports when called)."""
    out = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in (tree.body if top_level else ast.walk(tree)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


def test_zmq_is_imported_by_exactly_one_module_of_the_package():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20, sources  # the package's own sources, not an empty folder
    importers = [str(p.relative_to(PACKAGE)) for p in sources if "zmq" in _imports_of(p)]
    assert importers == ["runtime/zmq_transport.py"], importers


def test_the_processes_speak_only_the_transport_interface():
    runtime = PACKAGE / "runtime"
    for name in ("worker", "driver", "netem", "protocol"):
        siblings = _relative_imports_of(runtime / f"{name}.py")
        assert "zmq_transport" not in siblings, (name, siblings)
    assert "transport" in _relative_imports_of(runtime / "worker.py")
    # The interface never names its ZeroMQ implementation (which imports the interface: no circle); the
    # factory above both, network.open_transport, imports it when called.
    assert "zmq_transport" not in _relative_imports_of(runtime / "transport.py")
    assert "zmq_transport" not in _relative_imports_of(runtime / "network.py", top_level=True)
    assert "zmq_transport" in _relative_imports_of(runtime / "network.py")


# --- the framing rules and receive-or-refuse, on a transport without sockets -----------------------------

class _Memory(Transport):
    """A transport that holds its messages in a list: the interface implemented without any network."""

    endpoint = "memory://"

    def __init__(self, messages):
        self.messages = list(messages)
        self.closed = False

    def poll(self, *, timeout_ms):
        return bool(self.messages)

    def _receive_frames(self):
        if not self.messages:
            return None
        got = self.messages.pop(0)
        if isinstance(got, Exception):
            raise got
        return got

    def sender(self):
        raise NotImplementedError

    def close(self):
        self.closed = True


def test_framing_is_two_frames_and_refused_otherwise():
    frames = encode({"kind": "ping"})
    assert frames == [b'{"kind":"ping"}', b""]
    assert decode(RawMessage(tuple(frames), 2, "k" * 40), "worker") == Received({"kind": "ping"}, b"", "k" * 40)
    for count in (1, 3, 1000):
        with pytest.raises(Malformed, match=f"message of {count} frames: expected 2") as err:
            decode(RawMessage(tuple(frames[:count]), count, "p"), "worker")
        assert err.value.peer == "p" and err.value.header is None
    with pytest.raises(Malformed, match="kind = 'nonsense'") as err:
        decode(RawMessage((b'{"kind":"nonsense"}', b""), 2, None), "worker")
    assert err.value.header == {"kind": "nonsense"}
    with pytest.raises(MessageTooLarge, match="more than 65536"):
        encode({"kind": "error", "message": "x" * schema.MAX_HEADER})
    assert issubclass(MessageTooLarge, ValueError) and issubclass(MessageTooLarge, TransportError)


def test_receive_or_refuse_refuses_by_name_and_never_raises():
    ping = RawMessage((b'{"kind":"ping"}', b""), 2, None)
    config = RawMessage((b'{"kind":"stop"}', b""), 2, "tier-key")
    net = _Memory([RawMessage((b"[[[[[[[]]]]]]]", b""), 2, None),
                   RuntimeError("the transport broke"),
                   ping, config])
    refused = []

    def refuse(message, error):
        refused.append((error, message))

    def admit(got):
        return ("stop: not from a driver", "NotDriver") if got.header["kind"] == "stop" else None

    results = [receive_or_refuse(net, "worker", timeout_ms=0, refuse=refuse, admit=admit) for _ in range(5)]
    assert results == [None, None, Received({"kind": "ping"}, b"", None), None, None]
    assert [e for e, _ in refused] == ["Malformed", "InternalError", "NotDriver"]
    assert "nested 7 deep" in refused[0][1] and refused[1][1] == "RuntimeError: the transport broke"
    with pytest.raises(TypeError):
        receive_or_refuse(net, "worker", 0, refuse)  # everything after the data is keyword-only


# --- the ZeroMQ implementation ---------------------------------------------------------------------------

def test_zmq_transport_errors_are_typed():
    pytest.importorskip("zmq", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
    from eepart_fast.runtime import open_transport
    from eepart_fast.runtime.security import Identity

    with pytest.raises(AddressError) as err:
        open_transport("bogus")
    assert err.value.address == "bogus" and err.value.reason and isinstance(err.value, ValueError)
    me = Identity.ephemeral()
    me.allowed = {me.public: "driver"}
    net = open_transport("tcp://127.0.0.1:*", identity=me)
    out = net.sender()
    try:
        assert isinstance(out, Sender)
        with pytest.raises(AddressError, match="no public key is known"):
            out.send(net.endpoint, {"kind": "ping"})  # secure: a receiver without a key is never reached
        with pytest.raises(AddressError, match="address 'bogus'"):
            out.send("bogus", {"kind": "ping"}, key=me.public)
        # Nothing listens on a port of the discard service here: what is sent queues until the queue is
        # full, then a send without waiting says False and a waiting send times out, by type.
        assert not all(out.send("tcp://127.0.0.1:9", {"kind": "ping"}, key=me.public, wait=False)
                       for _ in range(100_000))
        with pytest.raises(SendTimeout, match="took no message for 2 s") as err:
            out.send("tcp://127.0.0.1:9", {"kind": "ping"}, key=me.public)
        assert isinstance(err.value, ConnectionError) and err.value.address == "tcp://127.0.0.1:9"
        # A sender of another key is not admitted: its message never arrives.
        stranger = Identity.ephemeral()
        stranger.allowed = {}
        other = open_transport("tcp://127.0.0.1:*", identity=stranger)
        try:
            intruder = other.sender()
            intruder.send(net.endpoint, {"kind": "ping"}, key=me.public, wait=False)
            assert not net.poll(timeout_ms=500)
        finally:
            other.close()
        assert out.send(net.endpoint, {"kind": "ping"}, key=me.public)
        assert net.poll(timeout_ms=5000)
        got = net.receive("worker")
        assert got.header == {"kind": "ping"} and got.payload == b"" and got.peer == me.public
    finally:
        out.close()
        net.close()


# --- the public API: data first, the rest keyword-only; numpydoc docstrings whose examples run -----------

def _public():
    pytest.importorskip("zmq", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
    pytest.importorskip("onnxruntime", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
    import eepart_fast.runtime as runtime
    api = {name: getattr(runtime, name) for name in runtime.__all__}
    return {name: obj for name, obj in api.items() if not inspect.ismodule(obj)}  # the package's modules


def test_public_functions_take_their_data_first_and_the_rest_by_keyword():
    api = _public()
    data = {"run_local": ["deploy_dir", "topology", "images", "labels"], "load_manifest": ["folder"],
            "open_transport": ["bind"], "receive_or_refuse": ["transport", "role"], "load_trace": ["path"],
            "save_trace": ["data", "path"], "table_spec": ["table"]}
    functions = {n: f for n, f in api.items() if inspect.isfunction(f)}
    assert set(functions) == set(data)
    for name, f in functions.items():
        params = list(inspect.signature(f).parameters.values())
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional == data[name], (name, positional)
        assert all(p.kind is p.KEYWORD_ONLY for p in params[len(positional):]), name


def test_public_docstrings_are_numpydoc_with_examples_that_run():
    api = _public()
    for name, obj in api.items():
        doc = inspect.getdoc(obj) or ""
        sections = [s for s in ("Parameters", "Attributes", "Returns", "Raises", "Examples")
                    if f"\n{s}\n{'-' * len(s)}\n" in f"\n{doc}\n"]
        if inspect.isfunction(obj):
            assert sections[:1] == ["Parameters"], (name, sections)
            assert {"Returns", "Raises", "Examples"} <= set(sections), (name, sections)
        else:
            assert "Examples" in sections and ({"Parameters", "Attributes"} & set(sections)
                                               or inspect.isabstract(obj)), (name, sections)
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    ran = 0
    for name, obj in api.items():
        module = inspect.getmodule(obj)
        for test in finder.find(obj, name, module=module, globs=dict(vars(module))):
            runner.run(test)
            ran += len(test.examples)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and ran >= 20, result
