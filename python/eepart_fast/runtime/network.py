"""Which transport a process opens: `open_transport`, the factory above the interface (transport.py) and
its implementations (today only ZeroMQ, zmq_transport.py).

The factory sits here, above both, so that the interface never names an implementation and the
implementation imports the interface, not the other way round (no import circle). zmq_transport is
imported when a transport is opened: importing the runtime package needs no pyzmq.
"""
from __future__ import annotations

from .transport import Transport

__all__ = ["open_transport"]


def open_transport(bind: str, *, identity=None, max_message: int | None = None) -> Transport:
    """The transport of one process: its inbox bound to `bind` (ZeroMQ, CURVE unless insecure).

    Parameters
    ----------
    bind : str
        Where to listen, e.g. ``tcp://127.0.0.1:*`` (a free port) or ``tcp://0.0.0.0:5601``.
    identity : security.Identity or None, keyword-only
        This process's keys and allow-list: only senders whose public key is allowed get a connection, and
        every message is encrypted. None means insecure (anyone who reaches the port, unencrypted).
    max_message : int, optional, keyword-only
        The largest frame the inbox takes (bytes; default schema.MAX_HEADER): a peer that sends a larger
        one is disconnected.

    Returns
    -------
    Transport

    Raises
    ------
    AddressError
        When `bind` cannot be bound (``.reason`` says why).

    Examples
    --------
    A process that sends itself a message, authenticated and encrypted:

    >>> from eepart_fast.runtime import open_transport
    >>> from eepart_fast.runtime.security import Identity
    >>> me = Identity.ephemeral()
    >>> me.allowed = {me.public: "driver"}
    >>> net = open_transport("tcp://127.0.0.1:*", identity=me)
    >>> out = net.sender()
    >>> out.send(net.endpoint, {"kind": "ping"}, key=me.public)
    True
    >>> net.poll(timeout_ms=5000)
    True
    >>> got = net.receive("worker")
    >>> got.header, got.peer == me.public
    ({'kind': 'ping'}, True)
    >>> out.close(); net.close()
    """
    from .zmq_transport import ZmqTransport
    return ZmqTransport(bind, identity=identity, max_message=max_message)

