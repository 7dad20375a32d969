"""The package's typed errors: callers (the CLI among them) tell these apart by class, never by message text."""
from ._core import _row_limit_message  # the engines' words (engine.hpp): one copy of the message

__all__ = ["RowLimitError"]


class RowLimitError(ValueError):
    """A sweep would keep more rows than its cap (`max_rows`, or the rows `max_memory` holds), whichever
    backend ran it: the compiled engines raise this class too (cpp/bindings/tables.cpp)."""

    def __init__(self, max_rows: int, total: int):
        self.max_rows, self.total = int(max_rows), int(total)
        super().__init__(_row_limit_message(self.max_rows, self.total))

    def __reduce__(self):  # pickled by its numbers (dask sends errors between processes), not its message
        return type(self), (self.max_rows, self.total)
