"""The runtime's wire, whatever carries it: one small interface and the framing rules.

A process opens one `Transport`: its inbox (bound to one address) and, on a secure run, the authenticator
that admits only the keys of its allow-list. It reads with `poll` and `receive`, and sends through a
`Sender` (`transport.sender()`, one per thread) that connects to each address on first use:

    net = open_transport("tcp://127.0.0.1:*", identity=ident, max_message=proto.max_message(manifest))
    out = net.sender()
    out.send(peer_address, {"kind": "ping"}, key=peer_public_key)
    got = receive_or_refuse(net, "worker", timeout_ms=100, refuse=report)   # (header, payload, peer) or None
    out.close(); net.close()

Framing, the same on any transport: a message is two frames, a header (a JSON object, at most
schema.MAX_HEADER bytes, written compactly without NaN) and a payload (bytes: a tensor, or empty). A
received message is refused (errors.Malformed, naming what is wrong) unless it has exactly two frames and
its header passes schema.parse and schema.check for the receiver's role; nothing from the wire is used
before that. Frames beyond the second are drained and dropped, never kept.

The ZeroMQ implementation (zmq_transport.py, the one module of the package that imports zmq) adds CURVE
authentication and encryption on every socket unless the identity is None (--insecure), a cap on inbound
frames (max_message), bounded queues, linger and send timeouts.
"""
from __future__ import annotations

import abc
import json
from typing import Callable, NamedTuple

from . import schema
from .errors import Malformed, MessageTooLarge

__all__ = ["MAX_FRAMES", "RawMessage", "Received", "Sender", "Transport", "decode", "encode",
           "receive_or_refuse"]

MAX_FRAMES = 2  # header, payload: a message of more frames is drained and refused


class Received(NamedTuple):
    """A checked message: its header (a dict that passed the receiver's schema), payload and sender.

    `peer` is the sender's public key (Z85 text) as the authenticator admitted it; None when insecure.
    """
    header: dict
    payload: bytes
    peer: str | None


class RawMessage(NamedTuple):
    """What a transport took off the wire, not yet checked: at most MAX_FRAMES frames (bytes-like), how many
    the message had, and the sender's authenticated key (None when insecure)."""
    frames: tuple
    count: int
    peer: str | None


def encode(header: dict, payload: bytes = b"") -> list:
    """The frames of a message.

    Parameters
    ----------
    header : dict
        The message's header (with its ``kind``); JSON-serialisable, without NaN or infinities.
    payload : bytes, optional
        The tensor it carries, or nothing.

    Returns
    -------
    list of bytes-like
        ``[header JSON, payload]``.

    Raises
    ------
    MessageTooLarge
        When the header's JSON exceeds schema.MAX_HEADER bytes.
    ValueError
        When the header holds NaN or infinities (which no receiver would take).

    Examples
    --------
    >>> encode({"kind": "ping"})
    [b'{"kind":"ping"}', b'']
    """
    data = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    if len(data) > schema.MAX_HEADER:
        raise MessageTooLarge(f"{header.get('kind')!r} header of {len(data)} bytes: more than {schema.MAX_HEADER}")
    return [data, payload]


def decode(raw: RawMessage, role: str | None) -> Received:
    """A message as the receiver `role` may use it, or Malformed.

    Parameters
    ----------
    raw : RawMessage
        The frames as the transport received them.
    role : {'worker', 'driver', 'netem'} or None
        Whose schema the header must pass; None parses the header (size, nesting, JSON) without checking
        its fields (tools).

    Returns
    -------
    Received
        ``(header, payload, peer)``.

    Raises
    ------
    Malformed
        Naming what is wrong (frames, size, nesting, JSON, a field's type or range), with ``.peer`` and
        ``.header`` (None when it did not parse) set.

    Examples
    --------
    >>> decode(RawMessage((b'{"kind":"ping"}', b""), 2, None), "worker")
    Received(header={'kind': 'ping'}, payload=b'', peer=None)
    >>> decode(RawMessage((b'{"kind":"ping"}',), 1, None), "worker")
    Traceback (most recent call last):
        ...
    eepart_fast.runtime.errors.Malformed: message of 1 frames: expected 2 (header, payload)
    """
    header = None
    try:
        if raw.count != MAX_FRAMES or len(raw.frames) != MAX_FRAMES:
            raise Malformed(f"message of {raw.count} frames: expected {MAX_FRAMES} (header, payload)")
        header = schema.parse(raw.frames[0])
        payload = bytes(raw.frames[1])
        if role is not None:
            schema.check(header, role, len(payload))
    except Malformed as exc:
        exc.peer, exc.header = raw.peer, header
        raise
    return Received(header, payload, raw.peer)


class Sender(abc.ABC):
    """Outgoing messages of one thread: a connection per address, made on first use.

    An implementation provides `_send_frames` and `close`; `send` applies the framing rules. A sender is
    used by one thread at a time. After `close` it may be used again (it reconnects). Get one from
    `Transport.sender`.

    Raises
    ------
    See `send`.

    Examples
    --------
    >>> from eepart_fast.runtime import open_transport
    >>> net = open_transport("tcp://127.0.0.1:*")  # insecure: for the example only
    >>> out = net.sender()
    >>> out.send(net.endpoint, {"kind": "ping"}), net.poll(timeout_ms=5000), net.receive("worker").header
    (True, True, {'kind': 'ping'})
    >>> out.close(); net.close()
    """

    def send(self, address: str, header: dict, payload: bytes = b"", *, key: str | None = None,
             wait: bool = True) -> bool:
        """Send one message to `address`.

        Parameters
        ----------
        address : str
            The receiver's address (e.g. ``tcp://10.0.0.2:5601``).
        header : dict
            The message's header (see `encode`).
        payload : bytes, optional
            The tensor it carries.
        key : str, optional
            The receiver's public key (Z85); required unless the transport is insecure. A changed key
            reconnects.
        wait : bool, default True
            Wait (bounded by the transport's send timeout) while the receiver's queue is full; with False
            nothing blocks.

        Returns
        -------
        bool
            True when sent (or queued); False only with ``wait=False`` when it could not be sent now.

        Raises
        ------
        AddressError
            An address the transport cannot connect to, or (secure) a receiver without a known key.
        SendTimeout
            The receiver took nothing for the send timeout (``wait=True``).
        MessageTooLarge
            A header over schema.MAX_HEADER bytes.
        TransportError
            Any other failure of the transport.

        Examples
        --------
        >>> from eepart_fast.runtime import open_transport
        >>> net = open_transport("tcp://127.0.0.1:*")  # insecure: for the example only
        >>> out = net.sender()
        >>> out.send("bogus", {"kind": "ping"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        eepart_fast.runtime.errors.AddressError: address 'bogus': Invalid argument...
        >>> out.close(); net.close()
        """
        return self._send_frames(address, encode(header, payload), key=key, wait=wait)

    @abc.abstractmethod
    def _send_frames(self, address: str, frames: list, *, key: str | None, wait: bool) -> bool:
        """Send the frames as one message (the implementation's part of `send`)."""

    @abc.abstractmethod
    def close(self, *, linger_ms: int = 0) -> None:
        """Drop every connection; what is queued may still be delivered for `linger_ms` (then dropped).

        Parameters
        ----------
        linger_ms : int, default 0, keyword-only
            How long queued messages may still be delivered, in milliseconds.
        """


class Transport(abc.ABC):
    """One process's side of the wire: its inbox, bound to `endpoint`, and the senders it hands out.

    An implementation provides `poll`, `_receive_frames`, `sender` and `close`; `receive` applies the
    framing rules and the schema. Make one with `open_transport`.

    Attributes
    ----------
    endpoint : str
        The address the inbox is bound to (a wildcard port resolved), for peers to reach it.

    Raises
    ------
    See `receive` and `open_transport`.

    Examples
    --------
    >>> from eepart_fast.runtime import open_transport
    >>> net = open_transport("tcp://127.0.0.1:*")  # insecure: for the example only
    >>> net.endpoint.startswith("tcp://127.0.0.1:"), net.poll(timeout_ms=0), net.receive("worker")
    (True, False, None)
    >>> net.close()
    """

    endpoint: str

    @abc.abstractmethod
    def poll(self, *, timeout_ms: int) -> bool:
        """True when a message waits in the inbox; waits at most `timeout_ms` (0: do not wait).

        Parameters
        ----------
        timeout_ms : int, keyword-only
            The longest wait in milliseconds (0: none).
        """

    def receive(self, role: str | None) -> Received | None:
        """The next message for `role`, checked, without waiting.

        Parameters
        ----------
        role : {'worker', 'driver', 'netem'} or None
            Whose schema the header must pass (see `decode`).

        Returns
        -------
        Received or None
            ``(header, payload, peer)``; None when nothing waits.

        Raises
        ------
        Malformed
            When the message is not one `role` takes (its frames are consumed all the same).
        TransportError
            When the transport fails.

        Examples
        --------
        >>> from eepart_fast.runtime import open_transport
        >>> net = open_transport("tcp://127.0.0.1:*")  # insecure: for the example only
        >>> out = net.sender()
        >>> out.send(net.endpoint, {"kind": "ping", "extra": 1})
        True
        >>> net.poll(timeout_ms=5000)
        True
        >>> net.receive("worker")
        Traceback (most recent call last):
            ...
        eepart_fast.runtime.errors.Malformed: ping: field 'extra' is not one it has (fields: run)
        >>> out.close(); net.close()
        """
        raw = self._receive_frames()
        return None if raw is None else decode(raw, role)

    @abc.abstractmethod
    def _receive_frames(self) -> RawMessage | None:
        """The next message's frames without waiting, or None (the implementation's part of `receive`)."""

    @abc.abstractmethod
    def sender(self) -> Sender:
        """A new `Sender` for one thread, authenticated with this transport's identity."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the inbox, every sender not yet closed, and the authenticator."""


def receive_or_refuse(transport: Transport, role: str, *, timeout_ms: int,
                      refuse: Callable[[str, str], None],
                      admit: Callable[[Received], tuple | None] | None = None) -> Received | None:
    """Receive a message or refuse it: the step every serving loop takes (worker, link emulator).

    Waits at most `timeout_ms` for a message, then takes it through the framing rules and `role`'s schema.
    A message that fails them is refused: ``refuse(message, error)`` is called (error ``'Malformed'``, or
    ``'InternalError'`` when checking it raised anything else) and None is returned. Nothing that arrives
    makes this raise.

    Parameters
    ----------
    transport : Transport
        The receiving process's transport.
    role : {'worker', 'netem', 'driver'}
        Whose schema the message must pass.
    timeout_ms : int, keyword-only
        The longest wait (0: none).
    refuse : callable, keyword-only
        ``refuse(message, error)``: counts and reports a refusal; must not raise.
    admit : callable, optional, keyword-only
        ``admit(received)`` returns None for a message its sender may send, else ``(message, error)``:
        the refusal (e.g. a control message from a key that may only send samples).

    Returns
    -------
    Received or None
        The checked message; None when nothing came or it was refused.

    Raises
    ------
    Nothing from what arrives; only what `refuse` or `admit` themselves raise.

    Examples
    --------
    >>> from eepart_fast.runtime import open_transport, receive_or_refuse
    >>> from eepart_fast.runtime.security import Identity
    >>> me = Identity.ephemeral(); me.allowed = {me.public: "driver"}
    >>> net = open_transport("tcp://127.0.0.1:*", identity=me); out = net.sender()
    >>> refused = []
    >>> out.send(net.endpoint, {"kind": "no such kind"}, key=me.public)
    True
    >>> receive_or_refuse(net, "worker", timeout_ms=5000, refuse=lambda m, e: refused.append((e, m))) is None
    True
    >>> refused[0][0]
    'Malformed'
    >>> out.close(); net.close()
    """
    if not transport.poll(timeout_ms=timeout_ms):
        return None
    try:
        got = transport.receive(role)
    except Malformed as exc:
        refuse(str(exc), "Malformed")
        return None
    except Exception as exc:  # noqa: BLE001 - no message may end the receiver
        refuse(f"{type(exc).__name__}: {exc}", "InternalError")
        return None
    if got is None:
        return None
    if admit is not None:
        refusal = admit(got)
        if refusal is not None:
            refuse(*refusal)
            return None
    return got
