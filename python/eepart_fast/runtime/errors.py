"""The runtime's named errors: each says what was refused and where."""
from __future__ import annotations


class ManifestError(ValueError):
    """A deployment folder or its manifest is not what the runtime can serve (field, partition, value)."""


class TensorMismatch(ValueError):
    """A tensor handed to a partition has the wrong shape, dtype or size for it."""


class RunFailed(RuntimeError):
    """A run stopped early (a worker died, a link stalled, a tier refused a message).

    `records` holds every sample finished before the failure; `tier` names the tier at fault when known.
    """

    def __init__(self, message: str, records=None, tier: str | None = None):
        super().__init__(message)
        self.records = list(records or [])
        self.tier = tier
