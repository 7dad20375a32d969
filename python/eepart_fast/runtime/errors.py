"""The runtime's named errors: each says what was refused and where.

Callers tell them apart by type, never by their message text. Each also derives from the built-in error a
caller would have caught before it had a name (ValueError, ConnectionError, RuntimeError), so that
``except ValueError`` still catches a refused address or a malformed message.

=====================  ==================================================================================
ManifestError          a deployment folder or its manifest that the runtime cannot serve
TensorMismatch         a tensor of the wrong shape, dtype or size for its partition
RunFailed              a run stopped early (carries the records finished before)
Malformed              a message from the wire that is not what its kind must be (schema.py)
LoadFailed             a partition whose file passed its sha256 but that onnxruntime cannot load
KeyFileError           a key file or allow-list that cannot be used (security.py)
TransportError         the transport could not send or receive (base of the three below)
AddressError           an address the transport cannot bind or connect to, or whose key is unknown
SendTimeout            a peer that took no message within the send timeout
MessageTooLarge        a header over the wire's limit (refused before it is sent)
=====================  ==================================================================================
"""
from __future__ import annotations

__all__ = ["AddressError", "KeyFileError", "LoadFailed", "Malformed", "ManifestError", "MessageTooLarge",
           "RunFailed", "SendTimeout", "TensorMismatch", "TransportError"]

_MAX_NAME = 128  # as schema.MAX_NAME: a kind longer than this is not echoed


class ManifestError(ValueError):
    """A deployment folder or its manifest is not what the runtime can serve (field, partition, value).

    Parameters
    ----------
    message : str
        The field (and partition) that is wrong, and its value.

    Examples
    --------
    >>> from eepart_fast.runtime import ManifestError, load_manifest
    >>> try:
    ...     load_manifest("no-such-folder")
    ... except ManifestError as exc:
    ...     print(type(exc).__name__)
    ManifestError
    """


class TensorMismatch(ValueError):
    """A tensor handed to a partition has the wrong shape, dtype or size for it.

    Parameters
    ----------
    message : str
        The partition, the sample and what was expected.

    Examples
    --------
    >>> from eepart_fast.runtime import TensorMismatch
    >>> isinstance(TensorMismatch("partition 2: expected float32 (1, 8, 14, 14)"), ValueError)
    True
    """


class RunFailed(RuntimeError):
    """A run stopped early (a worker died, a link stalled, a tier refused a message).

    Parameters
    ----------
    message : str
        What failed, naming the tier, sample or link.
    records : list of dict, optional
        Every sample finished before the failure (as `RunResult.records`).
    tier : str, optional
        The tier at fault, when known.

    Examples
    --------
    >>> from eepart_fast.runtime import RunFailed
    >>> err = RunFailed("worker for tier 'edge' exited with code 1", [], tier="edge")
    >>> err.tier, err.records
    ('edge', [])
    """

    def __init__(self, message: str, records=None, tier: str | None = None):
        super().__init__(message)
        self.records = list(records or [])
        self.tier = tier


class Malformed(ValueError):
    """A message that is not what its kind must be: refused by name, before any use.

    Parameters
    ----------
    message : str
        The kind, the field (with its index) and the value refused.
    kind : str, optional
        The message's kind, when it had a readable one (kept only when it is a short string).

    Attributes
    ----------
    peer : str or None
        Set by the receiver: the sender's authenticated key (None when insecure).
    header : dict or None
        Set by the receiver: the parsed header (None when it did not parse).

    Examples
    --------
    >>> from eepart_fast.runtime import Malformed, schema
    >>> try:
    ...     schema.parse(b"[1, 2]")
    ... except Malformed as exc:
    ...     print(exc)
    header: expected a JSON object, got list
    """

    def __init__(self, message: str, kind=None):
        super().__init__(message)
        self.kind = kind if isinstance(kind, str) and len(kind) <= _MAX_NAME else None
        self.peer = None
        self.header = None


class LoadFailed(RuntimeError):
    """A partition's file passed its sha256 but onnxruntime cannot load it."""


class KeyFileError(ValueError):
    """A key file or allow-list that cannot be used (named by path)."""


class TransportError(RuntimeError):
    """The transport could not send or receive a message (the address and the reason in the message).

    Parameters
    ----------
    message : str
        What failed, naming the address.
    address : str, optional
        The address concerned.
    reason : str, optional
        The transport's own words for the failure (e.g. ``Invalid argument``).

    Examples
    --------
    >>> from eepart_fast.runtime import TransportError, open_transport
    >>> try:
    ...     open_transport("bogus")
    ... except TransportError as exc:
    ...     print(type(exc).__name__, exc.address, exc.reason)  # doctest: +ELLIPSIS
    AddressError bogus Invalid argument...
    """

    def __init__(self, message: str, address: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.address = address
        self.reason = reason


class AddressError(TransportError, ValueError):
    """An address the transport cannot bind or connect to, or (secure) one whose peer key is not known."""


class SendTimeout(TransportError, ConnectionError):
    """A peer took no message within the send timeout (its queue is full, or nothing listens there)."""


class MessageTooLarge(TransportError, ValueError):
    """A header longer than the wire takes (schema.MAX_HEADER bytes), refused before it is sent."""
