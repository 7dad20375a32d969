"""A topology's radio energy per link (docs/model.md "Energy"): the form a user writes, checked, and back.

Each link has two ends (list index 0: its first tier, 1: its second; for a route "a->b": a, then b), and
each end a sending and a receiving radio model: joules per bit, watts while a transfer lasts, and joules
per message (a radio's promotion and tail). One entry per link of a chain or graph, in link order, or,
for a topology given as route matrices, one per route "a->b" (serving b -> a too unless "b->a" has its own).
"""
from __future__ import annotations

import difflib

import numpy as np

from .._checks import at_least, float_array, integer

FIELDS = ("energy_per_bit_j", "power_w", "energy_per_transfer_j")  # the last axis of a link's array
ROLES = ("send", "receive")  # the first axis; the second is the end (0, 1)
MAX_ENTRIES = 1024 * 1024  # a route per ordered pair of MAX_TIERS tiers, checked before any entry is read


def _mapping(value, known: tuple, where: str, what: str) -> None:
    """`value` a mapping of `known` keys only; an unknown one is named, with the closest known key."""
    if not isinstance(value, dict):
        raise TypeError(f"{where} = {value!r:.60}: expected a mapping of {', '.join(known)} (or null)")
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: unknown field {key!r:.60}{hint}; {what} has {', '.join(known)}")


def _end(value, where: str) -> np.ndarray:
    """One end's (energy_per_bit_j, power_w, energy_per_transfer_j); a field left out, or a null end, is 0."""
    out = np.zeros(len(FIELDS))
    if value is None:
        return out
    _mapping(value, FIELDS, where, "an end")
    for i, field in enumerate(FIELDS):
        if field in value:
            x = float_array(f"{where}.{field}", value[field], ())
            at_least(f"{where}.{field}", x, 0.0)
            out[i] = float(x)
    return out


def _entry(value, where: str) -> np.ndarray:
    """One link's (2 roles, 2 ends, 3 fields) array from {send: [end0, end1], receive: [end0, end1]}."""
    out = np.zeros((len(ROLES), 2, len(FIELDS)))
    if value is None:
        return out
    _mapping(value, ROLES, where, "a link's energy")
    for r, role in enumerate(ROLES):
        ends = value.get(role)
        if ends is None:
            continue
        if not isinstance(ends, (list, tuple)) or len(ends) != 2:
            raise ValueError(f"{where}.{role} = {ends!r:.60}: expected a list of two ends [first tier's, "
                             "second tier's]")
        for e in range(2):
            out[r, e] = _end(ends[e], f"{where}.{role}[{e}]")
    return out


def _pair(key, names: list, where: str) -> tuple:
    """A route key "a->b" (names or indices) or (a, b) as two distinct tier indices."""
    ends = key.split("->") if isinstance(key, str) else key
    if not isinstance(ends, (list, tuple)) or len(ends) != 2:
        raise ValueError(f"{where}: expected a route 'a->b' as the key, got {key!r:.60}")
    out = []
    for e in ends:
        e = e.strip() if isinstance(e, str) else e
        if isinstance(e, str) and e in names:
            out.append(names.index(e))
            continue
        if isinstance(e, str) and e.isascii() and e.isdigit() and len(e) <= 4:
            e = int(e)
        if isinstance(e, str):  # a name that is no tier's: a wrong value, not a wrong type
            raise ValueError(f"{where}: unknown tier {e!r:.60}; tiers are {', '.join(map(repr, names))}")  # noqa: TRY004
        j = integer(where, e)
        if not 0 <= j < len(names):
            raise ValueError(f"{where}: tier {j} out of range for {len(names)} tiers (0..{len(names) - 1})")
        out.append(j)
    if out[0] == out[1]:
        raise ValueError(f"{where}: a route joins two different tiers")
    return out[0], out[1]


def parse(value, names: list, n_links: int | None):
    """The checked link energy: None (none given), an (n_links, 2, 2, 3) array for a chain's or graph's
    links, or for routes (n_links None) a dict (a, b) -> (2, 2, 3), each route's entry given by the user.

    Parameters
    ----------
    value : list, dict or None
        The user's form: a list of one entry per link, or a mapping "a->b" -> entry.
    names : list of str
        The tiers' names, for route keys by name.
    n_links : int or None
        The links of a chain or graph; None for a topology given as route matrices.

    Returns
    -------
    numpy.ndarray, dict or None

    Raises
    ------
    ValueError, TypeError
        The message names link_energy, the link (or route), send or receive, the end, the field and the value.
    """
    if value is None:
        return None
    if n_links is None:
        if not isinstance(value, dict):
            raise TypeError(f"link_energy: this topology is given as routes: expected a mapping 'a->b' -> "
                            f"{{send: [..], receive: [..]}}, got {type(value).__name__}")
        if len(value) > min(MAX_ENTRIES, len(names) * (len(names) - 1)):
            raise ValueError(f"link_energy: {len(value)} routes, more than the {len(names) * (len(names) - 1)} "
                             f"ordered pairs of {len(names)} tiers")
        out = {}
        for key, entry in value.items():
            where = f"link_energy[{key!r:.40}]"
            pair = _pair(key, names, where)
            if pair in out:
                raise ValueError(f"{where}: route {pair[0]}->{pair[1]} given twice")
            out[pair] = _entry(entry, where)
        return out
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"link_energy: expected a list of one entry per link ({n_links}), got {type(value).__name__}")
    if len(value) != n_links:
        raise ValueError(f"link_energy: {len(value)} entries, but the topology has {n_links} links (one entry "
                         "per link, in link order)")
    return np.stack([_entry(entry, f"link_energy[{i}]") for i, entry in enumerate(value)]) if n_links else \
        np.zeros((0, len(ROLES), 2, len(FIELDS)))


def _entry_form(arr: np.ndarray) -> dict:
    return {role: [{f: float(arr[r, e, i]) for i, f in enumerate(FIELDS)} for e in range(2)]
            for r, role in enumerate(ROLES)}


def to_form(parsed):
    """The dict form `parse` reads back to the same values (route keys as "a->b" by index); None where
    every value is 0.

    Parameters
    ----------
    parsed : numpy.ndarray, dict or None
        As `parse` returns it.

    Returns
    -------
    list, dict or None
    """
    if parsed is None:
        return None
    if isinstance(parsed, dict):
        if not any(v.any() for v in parsed.values()):
            return None
        return {f"{a}->{b}": _entry_form(v) for (a, b), v in sorted(parsed.items())}
    if not parsed.any():
        return None
    return [_entry_form(v) for v in parsed]


def route_entry(parsed: dict, a: int, b: int):
    """(send, receive) values of the move a -> b on a topology given as routes, each (2 ends, 3 fields) with
    end 0 = a, end 1 = b: the entry "a->b", else "b->a" with its ends swapped, else None (no energy).

    Parameters
    ----------
    parsed : dict
        `parse`'s routes form.
    a, b : int
        The sender and the receiver.

    Returns
    -------
    numpy.ndarray of shape (2, 2, 3), or None
    """
    if (a, b) in parsed:
        return parsed[(a, b)]
    if (b, a) in parsed:
        return parsed[(b, a)][:, ::-1, :]
    return None
