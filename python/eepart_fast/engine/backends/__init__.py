"""One module per backend, each with available(), evaluate, sweep and pareto (the Protocol of
engine/registry.py); the registry imports them by name, so a missing optional one breaks nothing."""
