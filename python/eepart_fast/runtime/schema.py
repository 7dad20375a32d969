"""The wire's header schema: every message kind's fields, with types and ranges, checked before any use.

A header is JSON, at most MAX_HEADER bytes, nested at most MAX_DEPTH deep (counted on the bytes before
json.loads, so no input reaches the parser's recursion), without NaN/Infinity and without integers of more
than MAX_INT_DIGITS digits. Then the kind's fields: each known to the receiver's role (worker, driver,
netem), of its type and range; a field that a kind does not have is refused too. Every refusal is a
Malformed naming the kind, the field (with its index) and the value.
"""
from __future__ import annotations

import json
import math
import re
import time

import numpy as np

from .errors import Malformed

MAX_HEADER = 64 * 1024       # bytes of a header frame
MAX_DEPTH = 5                # nesting of objects and lists ({"hops": [{...}]} is 3)
MAX_STR = 1024               # characters of any string (messages are cut to this by their senders)
MAX_NAME = 128               # a tier or error name (a link's is two tier names)
MAX_HOPS = 256               # hops a sample's header carries (computes and links crossed)
MAX_ADDR = 256
MAX_LIST = 64                # entries of a list (hops, in-flight samples, stalled links)
MAX_KEYS = 64                # entries of an object
MAX_INT_DIGITS = 18
MAX_PARTITIONS = 16          # as the manifest
MAX_PLANS = 64               # plans of a deployed table (as the manifest)
MAX_FILES = 64               # distinct partition files of a deployment
TIME_SKEW = 2 * 86400.0      # s: a time stamp further than this from the receiver's clock is refused
HOLD_HORIZON = 3600.0        # s: hold_until within now +- this
HEARTBEAT_MIN, HEARTBEAT_MAX = 0.01, 10.0
RATIO_MAX = 1e6
SERVICE_MAX = 3600.0
CLOCKS = ("cpu", "wall", "profile", "none")
# A CURVE key on the wire and in key files (security.py, zmq_transport.py take these from here).
KEY_LEN = 40                 # a Z85 Curve25519 key
Z85_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


# --- bytes to a header ------------------------------------------------------------------------------

_STEP = np.zeros(256, np.int8)
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")


def nesting(data: bytes) -> int:
    """The deepest nesting of [ and { outside JSON strings: linear, vectorised, no recursion."""
    if b"\\" not in data:  # the usual header: strings end at the next quote; outside them, only brackets count
        outside = b"".join(data.split(b'"')[::2]).translate(None, _NOT_BRACKET)
        if len(outside) <= 256:
            depth = deepest = 0
            for c in outside:
                depth += 1 if c in (91, 123) else -1
                deepest = max(deepest, depth)
            return deepest
    a = np.frombuffer(data, np.uint8)
    n = a.size
    if n == 0:
        return 0
    idx = np.arange(n)
    # backslashes right before each byte: a quote after an odd number of them is escaped
    last_plain = np.maximum.accumulate(np.where(a == 92, -1, idx))
    run = np.zeros(n, np.int64)
    run[1:] = idx[:-1] - last_plain[:-1]
    quote = (a == 34) & (run % 2 == 0)
    q = np.cumsum(quote, dtype=np.int64) - quote
    step = np.where(q % 2 == 1, 0, _STEP[a]).astype(np.int64)
    return max(0, int(np.cumsum(step).max()))


def _no_constant(name):
    raise Malformed(f"header: {name} is not a number a message may hold")


def _bounded_int(text: str):
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise Malformed(f"header: integer of {len(digits)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def parse(data) -> dict:
    """A header frame as a dict with a string `kind`; Malformed when it is not one (size, depth, JSON)."""
    data = bytes(data)
    if len(data) > MAX_HEADER:
        raise Malformed(f"header of {len(data)} bytes: more than {MAX_HEADER}")
    depth = nesting(data)
    if depth > MAX_DEPTH:
        raise Malformed(f"header nested {depth} deep: at most {MAX_DEPTH}")
    try:
        header = json.loads(data, parse_constant=_no_constant, parse_int=_bounded_int)
    except Malformed:
        raise
    except (ValueError, RecursionError) as exc:  # RecursionError cannot happen below MAX_DEPTH; kept as a bound
        raise Malformed(f"header: not JSON ({str(exc)[:120]})") from None
    if not isinstance(header, dict):
        raise Malformed(f"header: expected a JSON object, got {type(header).__name__}")
    kind = header.get("kind")
    if not isinstance(kind, str):
        raise Malformed(f"header.kind = {_show(kind)}: expected a message kind")
    return header


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- field checks -----------------------------------------------------------------------------------
# Each takes (value, where, now) and returns nothing or raises Malformed naming `where` and the value.

def _fail(where, value, expected):
    raise Malformed(f"{where} = {_show(value)}: expected {expected}")


def _int(lo, hi):
    def check(v, where, now):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            _fail(where, v, f"an integer in [{lo}, {hi}]")
    return check


def _num(lo, hi, lo_open=False):
    def check(v, where, now):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not (
                (v > lo if lo_open else v >= lo) and v <= hi):
            _fail(where, v, f"a finite number in {'(' if lo_open else '['}{lo:g}, {hi:g}]")
    return check


def _time(v, where, now):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v - now) > TIME_SKEW:
        _fail(where, v, f"a time (time.time() s) within {TIME_SKEW / 86400:g} days of the receiver's clock")


def _hold(v, where, now):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v - now) > HOLD_HORIZON:
        _fail(where, v, f"a finite time within {HOLD_HORIZON:g} s of the receiver's clock")


def _str(max_len, empty=False, printable=False):
    def check(v, where, now):
        if not isinstance(v, str) or len(v) > max_len or (not empty and not v):
            _fail(where, v, f"a {'' if empty else 'non-empty '}string of at most {max_len} characters")
        if printable and not v.isprintable():
            _fail(where, v, "printable characters")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            _fail(where, v, "UTF-8 text (no lone surrogates)")
    return check


_name = _str(MAX_NAME, printable=True)
_link = _str(2 * MAX_NAME + 1, printable=True)  # 'a-b': two tier names
_message = _str(MAX_STR, empty=True)
_ADDR = re.compile(r"(tcp|ipc|inproc)://[^\s\x00]{1,240}")


def _addr(v, where, now):
    if not isinstance(v, str) or len(v) > MAX_ADDR or not _ADDR.fullmatch(v):
        _fail(where, v, "a ZeroMQ address (tcp://host:port)")


def _key(v, where, now):
    if not isinstance(v, str) or len(v) != KEY_LEN or not set(v) <= Z85_CHARS:
        _fail(where, v, f"a {KEY_LEN}-character Z85 CURVE public key")


def _token(v, where, now):
    if not isinstance(v, str) or not 16 <= len(v) <= 128:
        _fail(where, v, "the run's token")


def _enum(options):
    def check(v, where, now):
        if v not in options or not isinstance(v, str):
            _fail(where, v, f"one of {options}")
    return check


def _opt(check):
    def inner(v, where, now):
        if v is not None:
            check(v, where, now)
    return inner


def _dict_of(key_check, value_check, max_len=MAX_KEYS):
    def check(v, where, now):
        if not isinstance(v, dict):
            _fail(where, v, "an object")
        if len(v) > max_len:
            _fail(where, f"<{len(v)} entries>", f"at most {max_len} entries")
        for k, x in v.items():
            key_check(k, f"{where} key", now)
            value_check(x, f"{where}[{k!r}]", now)
    return check


def _list_of(item_check, max_len=MAX_LIST):
    def check(v, where, now):
        if not isinstance(v, list):
            _fail(where, v, "a list")
        if len(v) > max_len:
            _fail(where, f"<{len(v)} entries>", f"at most {max_len} entries")
        for i, x in enumerate(v):
            item_check(x, f"{where}[{i}]", now)
    return check


def _scalar(v, where, now):
    """A hop's value: a finite number, a short string (a tier or a link: 'a-b'), a bool or null."""
    if v is None or isinstance(v, bool):
        return
    if isinstance(v, (int, float)):
        if not math.isfinite(v):
            _fail(where, v, "a finite number")
        return
    if isinstance(v, str) and len(v) <= 2 * MAX_NAME + 1 and v.isprintable():
        return
    _fail(where, v, f"a finite number, a string of at most {2 * MAX_NAME + 1} characters, or null")


def _hop(v, where, now):
    if not isinstance(v, dict) or len(v) > 16:
        _fail(where, v, "an object of at most 16 fields")
    if v.get("kind") not in ("compute", "link"):
        _fail(f"{where}.kind", v.get("kind"), "'compute' or 'link'")
    for k, x in v.items():
        _str(32, printable=True)(k, f"{where} key", now)
        _scalar(x, f"{where}.{k}", now)


_SHA = re.compile(r"[0-9a-f]{64}")


def _sha(v, where, now):
    if not isinstance(v, str) or not _SHA.fullmatch(v):
        _fail(where, v, "a sha256 (64 hex digits)")


_FILE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def _file_key(v, where, now):
    if not isinstance(v, str) or not _FILE.fullmatch(v):
        _fail(where, v, "a partition's file name (letters, digits, '._-', at most 128, not starting with '.')")


_sample = _int(0, 2**53)
_pid = _int(0, 2**31)
_label = _opt(_int(-(2**31), 2**31))
_prediction = _int(0, 2**31)


def _sample_ref(v, where, now):
    """A sample id as a refusal echoes it: an int, a short repr, or null."""
    if v is None or (isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2**63):
        return
    _message(v, where, now)


_last = _opt(lambda v, where, now: _fields(v, where, now, {"sample": (_sample_ref, True),
                                                             "kind": (_name, True), "to": (_name, True),
                                                             "t": (_time, True)}))
_in_flight = _list_of(lambda v, where, now: _fields(v, where, now, {"sample": (_sample_ref, True),
                                                                    "link": (_link, True),
                                                                    "since": (_time, True)}), 32)


def _fields(v, where, now, spec):
    if not isinstance(v, dict):
        _fail(where, v, "an object")
    for k in v:
        if k not in spec:
            raise Malformed(f"{where}: field {_show(k)} is not one it has (fields: {', '.join(spec)})")
    for k, (check, required) in spec.items():
        if k in v:
            check(v[k], f"{where}.{k}", now)
        elif required:
            raise Malformed(f"{where}: field {k!r} missing")


# --- the kinds, by receiver ---------------------------------------------------------------------------
# {kind: {field: (check, required)}}; `kind` itself is implied.

_SAMPLE_FIELDS = {"sample": (_sample, True), "label": (_label, False), "t_app": (_time, False),
                  "plan": (_int(0, MAX_PLANS - 1), False)}
_TENSOR_FIELDS = {**_SAMPLE_FIELDS, "partition": (_int(1, MAX_PARTITIONS), True), "t0": (_time, True),
                  "src": (_name, False), "dst": (_name, False), "t_send": (_time, False),
                  "hops": (_list_of(_hop, MAX_HOPS), False)}
# A sample whose logits were not finite fails where it stopped: prediction null, error says why.
_RESULT_FIELDS = {**_TENSOR_FIELDS, "exit_partition": (_int(1, MAX_PARTITIONS), True),
                  "exit_block": (_int(1, 10**6), True), "prediction": (_opt(_prediction), True),
                  "error": (_message, False)}
_RUN = {"run": (_str(MAX_NAME), False)}
_PROBE_FIELDS = {"probe": (_sample, True), "src": (_name, True), "dst": (_name, True), "t_send": (_time, True),
                 "hops": (_list_of(_hop, MAX_HOPS), False)}

WORKER = {
    "config": {"driver": (_addr, True), "peers": (_dict_of(_name, _addr), True), "via": (_opt(_addr), False),
               "ratio": (_num(0.0, RATIO_MAX, lo_open=True), True), "clock": (_enum(CLOCKS), True),
               "checksums": (_dict_of(_file_key, _sha, MAX_FILES), True),
               "heartbeat": (_num(HEARTBEAT_MIN, HEARTBEAT_MAX), True),
               "service": (_opt(_dict_of(_file_key, _num(0.0, SERVICE_MAX), MAX_FILES)), False),
               "keys": (_dict_of(_name, _key), False), **_RUN},
    "stop": {**_RUN},
    "end": {**_RUN},
    "ping": {**_RUN},
    "input": {**_SAMPLE_FIELDS},
    "tensor": {**_TENSOR_FIELDS, "hold_until": (_hold, False)},
    "result": {**_RESULT_FIELDS, "hold_until": (_hold, False)},
    # A link probe: the driver asks the tier at one end to send `bytes` to the other; that one reports it.
    "probe": {"probe": (_sample, True), "to": (_name, True), "bytes": (_int(1, 1 << 31), True), **_RUN},
    "probe_data": {**_PROBE_FIELDS, "hold_until": (_hold, False)},
}

DRIVER = {
    "hello": {"tier": (_name, True), "endpoint": (_addr, True), "pid": (_pid, True)},
    "ready": {"tier": (_name, True), "pid": (_pid, False)},
    "heartbeat": {"tier": (_name, True), "busy": (_opt(_sample), False), "since": (_opt(_time), False),
                  "last": (_last, False), "in_flight": (_in_flight, False),
                  "stalled": (_list_of(_link, 32), False), "refused": (_int(0, 2**62), False)},
    "error": {"tier": (_name, True), "message": (_message, True), "error": (_name, True),
              "sample": (_sample_ref, False), "refused": (_int(0, 2**62), False)},
    "done": {**_RESULT_FIELDS, "tier": (_name, True), "t_end": (_time, True)},
    "probed": {"tier": (_name, True), "probe": (_sample, True), "hops": (_list_of(_hop, MAX_HOPS), True)},
}

NETEM = {
    "config": {"peers": (_dict_of(_name, _addr), True), "keys": (_dict_of(_name, _key), False),
               "token": (_token, True)},
    "stall": {"link": (_link, True), "token": (_token, True)},
    "stop": {"token": (_token, True)},
    "ping": {"token": (_token, True)},
    "start": {"t0": (_time, True), "token": (_token, True)},
    "tensor": {**_TENSOR_FIELDS, "src": (_name, True), "dst": (_name, True), "t_send": (_time, True)},
    "result": {**_RESULT_FIELDS, "src": (_name, True), "dst": (_name, True), "t_send": (_time, True)},
    "probe_data": {**_PROBE_FIELDS},
}

ROLES = {"worker": WORKER, "driver": DRIVER, "netem": NETEM}
# Kinds that carry a tensor; every other kind has an empty payload.
PAYLOAD_KINDS = ("input", "tensor", "result", "probe_data")


def check(header: dict, role: str, payload_len: int = 0, now: float | None = None) -> dict:
    """The header if it is a message `role` takes (every field's type and range), else Malformed."""
    kinds = ROLES[role]
    kind = header.get("kind")
    spec = kinds.get(kind)
    if spec is None:
        raise Malformed(f"kind = {_show(kind)}: not a message a {role} takes (kinds: {', '.join(kinds)})")
    now = time.time() if now is None else now
    try:
        _fields({k: v for k, v in header.items() if k != "kind"}, kind, now, spec)
    except Malformed as exc:
        exc.kind = kind
        raise
    if payload_len and kind not in PAYLOAD_KINDS:
        raise Malformed(f"{kind}: payload of {payload_len} bytes (this kind has none)", kind)
    return header
