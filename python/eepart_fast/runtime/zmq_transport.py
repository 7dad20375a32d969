"""The runtime's transport on ZeroMQ: the one module of the package that imports zmq.

Each process has one context, one PULL inbox (a CURVE server unless insecure) and PUSH sockets (CURVE
clients of the receiver's key) per address it sends to. On a secure run a ZAP handler thread admits only
clients whose public key is in the process's allow-list: a peer without an allowed key gets no
connection, its messages have no effect and no answer; messages are encrypted and authenticated, and each
received message carries the key its sender was admitted with (its ``User-Id``).

Bounds on every socket: inbound frames of at most `max_message` bytes (ZMQ_MAXMSGSIZE; a larger one drops
the connection), RCVHWM messages queued per peer, a HANDSHAKE_MS handshake, LINGER 0 unless a close asks
for more, and sends that wait at most SEND_TIMEOUT_MS (a PUSH socket blocks without a peer).
"""
from __future__ import annotations

import threading

import zmq

from .errors import AddressError, KeyFileError, SendTimeout, TransportError
from .schema import KEY_LEN, MAX_HEADER
from .transport import MAX_FRAMES, RawMessage, Sender, Transport

SEND_TIMEOUT_MS = 2000
RCVHWM = 256           # messages queued per peer before it is pushed back
HANDSHAKE_MS = 5000    # a connection that has not completed its (CURVE) handshake by then is dropped


# --- CURVE keys and authentication ---------------------------------------------------------------------

def curve_keypair() -> tuple:
    """A new Curve25519 keypair as Z85 text: (public, secret)."""
    public, secret = zmq.curve_keypair()
    return public.decode(), secret.decode()


def curve_public(secret: str) -> str:
    """The public key (Z85) that belongs to a secret key (Z85)."""
    return zmq.curve_public(secret.encode()).decode()


class _Allow:
    """ZAP credentials provider: a client is admitted when its public key is in the allow-list."""

    def __init__(self, ident):
        self.ident = ident

    def callback(self, domain, key) -> bool:
        try:
            return (key.decode("ascii") if isinstance(key, bytes) else key) in self.ident.allowed
        except (UnicodeDecodeError, AttributeError):
            return False


def _start_authenticator(ctx, ident):
    """A ZAP handler thread for ctx admitting only ident's allow-list; None when insecure."""
    if ident is None:
        return None
    from zmq.auth.thread import ThreadAuthenticator
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve_callback(domain="*", credentials_provider=_Allow(ident))
    return auth


def _make_server(sock, ident) -> None:
    """Before bind: the socket takes only CURVE clients the authenticator admits."""
    if ident is None:
        return
    sock.setsockopt(zmq.CURVE_SECRETKEY, ident.secret.encode())
    sock.setsockopt(zmq.CURVE_PUBLICKEY, ident.public.encode())
    sock.setsockopt(zmq.CURVE_SERVER, 1)


def _make_client(sock, ident, server_key: str | None) -> None:
    """Before connect: the socket proves its own key and checks the server's."""
    if ident is None:
        return
    if server_key is None:
        raise KeyFileError("no public key is known for this peer (its key must be in the allow-list)")
    sock.setsockopt(zmq.CURVE_SECRETKEY, ident.secret.encode())
    sock.setsockopt(zmq.CURVE_PUBLICKEY, ident.public.encode())
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())


# --- sockets -------------------------------------------------------------------------------------------

def _socket(ctx, kind, max_message: int | None = None):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.MAXMSGSIZE, int(max_message or MAX_HEADER))
    s.setsockopt(zmq.RCVHWM, RCVHWM)
    s.setsockopt(zmq.HANDSHAKE_IVL, HANDSHAKE_MS)
    return s


def _peer(frame):
    """The CURVE public key (Z85) the authenticator admitted the sender with; None on an insecure socket."""
    try:
        user = frame.get("User-Id")
    except (zmq.ZMQError, AttributeError, TypeError):
        return None
    return user if isinstance(user, str) and len(user) == KEY_LEN else None


class ZmqSender(Sender):
    """PUSH sockets by address, connected on first use; CURVE clients of the receiver's key unless insecure."""

    def __init__(self, ctx, ident):
        self._ctx, self._ident = ctx, ident
        self._socks = {}  # address -> (socket, the receiver's public key)

    def _connect(self, address: str, key: str | None):
        if self._ident is not None and key is None:
            raise AddressError(f"address {address!r}: no public key is known for it (a secure run needs the "
                               "receiver's key in the allow-list)", address)
        s = _socket(self._ctx, zmq.PUSH)
        try:
            s.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
            _make_client(s, self._ident, key)
            s.connect(address)
        except zmq.ZMQError as exc:
            s.close(0)
            raise AddressError(f"address {address!r}: {exc.strerror} (expected e.g. tcp://10.0.0.2:5601)",
                               address, exc.strerror) from None
        return s

    def _send_frames(self, address: str, frames: list, *, key: str | None, wait: bool) -> bool:
        s, known = self._socks.get(address, (None, None))
        if s is not None and known != key:
            s.close(0)
            del self._socks[address]
            s = None
        if s is None:
            s = self._connect(address, key)
            self._socks[address] = (s, key)
        try:
            s.send_multipart(frames, flags=0 if wait else zmq.NOBLOCK, copy=False)
        except zmq.Again:
            if not wait:
                return False
            raise SendTimeout(f"{address}: took no message for {SEND_TIMEOUT_MS / 1000:g} s (its queue is full "
                              "or nothing listens there)", address) from None
        except zmq.ZMQError as exc:
            raise TransportError(f"{address}: {exc.strerror}", address, exc.strerror) from None
        return True

    def close(self, *, linger_ms: int = 0) -> None:
        for s, _ in self._socks.values():
            s.close(linger_ms)
        self._socks.clear()


class ZmqTransport(Transport):
    """A process's ZeroMQ context, PULL inbox and authenticator (see `transport.open_transport`)."""

    def __init__(self, bind: str, *, identity=None, max_message: int | None = None):
        self._ident = identity
        self._ctx = zmq.Context()
        self._auth = None
        self._inbox = None
        self._senders = []
        try:
            self._auth = _start_authenticator(self._ctx, identity)
            self._inbox = _socket(self._ctx, zmq.PULL, max_message)
            _make_server(self._inbox, identity)
            self._inbox.bind(bind)
        except zmq.ZMQError as exc:
            self.close()
            raise AddressError(f"bind = {bind!r}: {exc.strerror}", bind, exc.strerror) from None
        self.endpoint = self._inbox.getsockopt(zmq.LAST_ENDPOINT).decode()

    def poll(self, *, timeout_ms: int) -> bool:
        try:
            return bool(self._inbox.poll(max(0, int(timeout_ms))))
        except zmq.ZMQError as exc:
            raise TransportError(f"inbox {self.endpoint}: {exc.strerror}", self.endpoint, exc.strerror) from None

    def _receive_frames(self) -> RawMessage | None:
        try:
            first = self._inbox.recv(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        frames, count = [first], 1
        # A message's frames arrive together (each at most max_message bytes); beyond MAX_FRAMES they are
        # taken off the socket and dropped, so one message holds at most MAX_FRAMES frames in memory.
        while self._inbox.getsockopt(zmq.RCVMORE):
            f = self._inbox.recv(copy=False)
            count += 1
            if len(frames) < MAX_FRAMES:
                frames.append(f)
        return RawMessage(tuple(f.buffer for f in frames), count, _peer(first))

    def sender(self) -> ZmqSender:
        s = ZmqSender(self._ctx, self._ident)
        self._senders.append((s, threading.get_ident()))
        return s

    def close(self) -> None:
        # The senders of this thread are closed here; another thread closes its own (a socket is used by
        # one thread only), and the context's term waits for them.
        me = threading.get_ident()
        for s, owner in self._senders:
            if owner == me:
                s.close()
        self._senders.clear()
        if self._inbox is not None:
            self._inbox.close(0)
        if self._auth is not None:
            self._auth.stop()
        self._ctx.term()
