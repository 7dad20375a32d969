"""CURVE keys on every runtime socket: who may talk to a worker, a driver or the link emulator.

Each process has a keypair (Curve25519, Z85 text) and an allow-list of its peers' public keys. Its
transport (zmq_transport.py) makes its inbox a CURVE server that admits only the keys of the allow-list,
and every message it sends goes through a CURVE client that knows the receiver's public key. A peer
without an allowed key gets no connection: its messages have no effect and no answer. Messages are
encrypted and authenticated.

Keys on disk are ZeroMQ certificates (as `zmq.auth.create_certificates` writes them): `NAME.key` holds the
public key, `NAME.key_secret` the public and secret key (mode 0600). `eepart keys --out keys/edge` writes
both. The processes `eepart run` starts itself get keys made for that run (never written to disk: they
reach the child on its stdin).

Nothing here imports zmq: the keys are made and checked through zmq_transport, when first needed.
"""
from __future__ import annotations

import os
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import KeyFileError
from .schema import KEY_LEN, Z85_CHARS

MAX_KEY_FILE = 64 * 1024     # a certificate is a few hundred bytes
MAX_ALLOWED = 4096
INSECURE = "INSECURE: no authentication, no encryption"


def check_key(value, where: str) -> str:
    """A Z85 public or secret key as text, refused by name otherwise."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise KeyFileError(f"{where}: not a Z85 key (non-ASCII bytes)") from None
    if not isinstance(value, str) or len(value) != KEY_LEN or not set(value) <= Z85_CHARS:
        raise KeyFileError(f"{where} = {str(value)[:60]!r}: expected a {KEY_LEN}-character Z85 CURVE key")
    return value


def _read_certificate(path: Path) -> tuple:
    """(public, secret or None) of a ZeroMQ certificate file."""
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"{path}: not a regular file")
    if st.st_size > MAX_KEY_FILE:
        raise KeyFileError(f"{path}: {st.st_size} bytes, more than a key file's {MAX_KEY_FILE}")
    public = secret = None
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot be read as a key file ({exc})") from None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("public-key"):
            public = check_key(line.split("=", 1)[-1].strip(" \t'\""), f"{path}: public-key")
        elif line.startswith("secret-key"):
            secret = check_key(line.split("=", 1)[-1].strip(" \t'\""), f"{path}: secret-key")
    if public is None:
        raise KeyFileError(f"{path}: no public-key line (expected a key file written by `eepart keys`)")
    return public, secret


def load_secret(path) -> tuple:
    """(public, secret) from a secret key file; refused when others may read it (as ssh does)."""
    path = Path(path)
    public, secret = _read_certificate(path)
    if secret is None:
        raise KeyFileError(f"--key {path}: holds no secret-key (give the .key_secret file `eepart keys` wrote)")
    mode = path.stat().st_mode
    if mode & 0o077:
        raise KeyFileError(f"--key {path}: mode {stat.S_IMODE(mode):04o}, readable by others; "
                        f"chmod 600 {path}")
    _check_pair(public, secret, str(path))
    return public, secret


def _check_pair(public: str, secret: str, where: str) -> None:
    from .zmq_transport import curve_public
    if curve_public(secret) != public:
        raise KeyFileError(f"{where}: the public key does not belong to the secret key")


def load_allowed(paths) -> dict:
    """{public key: name} from key files and folders of them (every *.key inside; the name is the file's stem)."""
    out = {}
    for p in paths or []:
        p = Path(p)
        files = sorted(p.glob("*.key")) if p.is_dir() else [p]
        if p.is_dir() and not files:
            raise KeyFileError(f"--allow {p}: a folder without any *.key file")
        for f in files:
            public, _ = _read_certificate(f)
            name = f.name[:-len(".key")] if f.name.endswith(".key") else f.stem
            out.setdefault(public, name)
            if len(out) > MAX_ALLOWED:
                raise KeyFileError(f"--allow: more than {MAX_ALLOWED} keys")
    return out


def _atomic_write(path: Path, text: str, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _certificate(public: str, secret: str | None) -> str:
    kind = "Secret" if secret else "Public"
    lines = [f"#   ****  Generated on {time.strftime('%Y-%m-%d %H:%M:%S')} by eepart keys  ****",
             f"#   ZeroMQ CURVE {kind} Certificate",
             "#   Exchange securely, or use a secure mechanism to verify the contents" if not secret else
             "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
             "", "metadata", "curve", f'    public-key = "{public}"']
    if secret:
        lines.append(f'    secret-key = "{secret}"')
    return "\n".join(lines) + "\n"


def write_keypair(base, overwrite: bool = False) -> tuple:
    """Write BASE.key (public, 0644) and BASE.key_secret (0600), each atomically; returns (public, paths)."""
    from .zmq_transport import curve_keypair
    base = Path(base)
    pub_path, sec_path = base.parent / (base.name + ".key"), base.parent / (base.name + ".key_secret")
    if not base.parent.is_dir():
        raise KeyFileError(f"--out {base}: folder {base.parent} does not exist")
    for p in (pub_path, sec_path):
        if (p.exists() or p.is_symlink()) and not overwrite:
            raise KeyFileError(f"--out {base}: {p} exists (--overwrite to replace it)")
    public, secret = curve_keypair()
    _atomic_write(sec_path, _certificate(public, secret), 0o600)
    _atomic_write(pub_path, _certificate(public, None), 0o644)
    return public, (pub_path, sec_path)


@dataclass
class Identity:
    """A process's CURVE keys and allow-list ({public key: name}). `None` in its place means --insecure."""
    public: str
    secret: str
    allowed: dict = field(default_factory=dict)

    @classmethod
    def ephemeral(cls) -> Identity:
        from .zmq_transport import curve_keypair
        return cls(*curve_keypair(), {})

    @classmethod
    def from_files(cls, key, allow) -> Identity:
        public, secret = load_secret(key)
        allowed = load_allowed(allow)
        if not allowed:
            raise KeyFileError("--allow: no public keys given (the peers' *.key files or a folder of them)")
        return cls(public, secret, allowed)

    def to_wire(self) -> dict:
        return {"public": self.public, "secret": self.secret, "allowed": self.allowed}

    @classmethod
    def from_wire(cls, d) -> Identity:
        if not isinstance(d, dict):
            raise KeyFileError("keys on stdin: expected a JSON object")
        public = check_key(d.get("public"), "keys.public")
        secret = check_key(d.get("secret"), "keys.secret")
        allowed = d.get("allowed")
        if not isinstance(allowed, dict) or len(allowed) > MAX_ALLOWED:
            raise KeyFileError("keys.allowed: expected an object {public key: name}")
        ok = {check_key(k, "keys.allowed"): str(v)[:64] for k, v in allowed.items()}
        _check_pair(public, secret, "keys on stdin")
        return cls(public, secret, ok)

    def allows(self, public: str) -> bool:
        return public in self.allowed
