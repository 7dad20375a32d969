"""The model's inputs and its cost tables: the profile of a DNN cut into N blocks with K exit thresholds,
the topology of M tiers, how tiers compute (devices) and how bits travel (routes), and the fillers that
turn them into the CostTables the engine reads (docs/model.md)."""
from . import configs, devices, profile, quantile, routes, tables, topology
from .configs import count_configurations
from .profile import Profile
from .tables import CostTables, cost_tables
from .topology import Topology

__all__ = ["CostTables", "Profile", "Topology", "cost_tables", "count_configurations",
           # the modules
           "configs", "devices", "profile", "quantile", "routes", "tables", "topology"]
