"""Numbers as text for tables people read: as few digits as tell neighbouring rows apart."""
from __future__ import annotations


def digits(values, least: int) -> list:
    """Each value with the fewest decimals (>= least, <= 17 significant) that tells neighbours apart.

    Parameters
    ----------
    values : sequence of float
        The column, in the order shown.
    least : int
        The fewest decimals to show.

    Returns
    -------
    list of str
    """
    for d in range(least, 18):
        text = [f"{v:.{d}f}" for v in values]
        if all(a != b for a, b, x, y in zip(text, text[1:], values, values[1:]) if x != y):
            return text
    return [repr(v) for v in values]


def decimals(text: list, least: int) -> int:
    """The decimals digits chose (least where it fell back to repr).

    Parameters
    ----------
    text : list of str
        What `digits` returned.
    least : int
        The fewest decimals it was given.

    Returns
    -------
    int
    """
    return max([least, *(len(t.partition(".")[2]) for t in text if "e" not in t)])
