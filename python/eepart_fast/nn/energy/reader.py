"""What every energy reader is: a name, what it measures, and the joules between a start and a stop."""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class ReaderUnavailable(ValueError):
    """This machine does not expose what a reader reads (no powercap zone, no NVIDIA GPU, no tegrastats);
    the message is one line that says what is missing and, where there is one, the fix."""


@runtime_checkable
class Reader(Protocol):
    """An energy meter.

    ``start()`` returns a token and ``stop(token)`` the joules spent since that start; tokens are
    independent, so measurements may overlap. ``domains`` names what is summed (powercap zones, GPUs,
    tegrastats rails) and ``describe()`` says in one line how it is measured, for a profile's provenance.
    ``close()`` releases what the reader holds (a library handle); a closed reader is not used again.
    A reader may be shared between threads: each token is a measurement of its own.
    """

    name: str
    domains: list

    def describe(self) -> str: ...

    def start(self) -> Any: ...

    def stop(self, token: Any) -> float: ...

    def close(self) -> None: ...


def counter_delta(start: float, end: float, wrap: float) -> float:
    """How far a counter that counts from 0 up to `wrap` and starts again at 0 went from `start` to `end`.

    One wrap-around is all a pair of readings can show: a measurement longer than one full range of the
    counter reads short, so readers keep `wrap` in their description.

    Examples
    --------
    >>> counter_delta(100.0, 250.0, 1000.0)
    150.0
    >>> counter_delta(900.0, 50.0, 1000.0)
    150.0
    """
    return end - start if end >= start else end + wrap - start
