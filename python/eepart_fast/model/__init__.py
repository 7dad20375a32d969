"""The model's inputs and its cost tables: the profile of a DNN cut into N blocks with K exit thresholds,
the topology of M tiers, how tiers compute (devices) and how bits travel (routes), and the fillers that
turn them into the CostTables the engine reads (docs/model.md)."""
from . import configs, devices, energy, link_energy, load, power_presets, profile, quantile, routes, tables, topology
from .configs import count_configurations
from .energy import EnergyTables, energy_tables
from .load import Load, LoadModel, evaluate_load, load_tables
from .profile import Profile
from .tables import CostTables, cost_tables
from .topology import Topology

__all__ = ["CostTables", "EnergyTables", "Load", "LoadModel", "Profile", "Topology", "cost_tables",
           "count_configurations",
           "energy_tables", "evaluate_load", "load_tables",
           # the modules
           "configs", "devices", "energy", "link_energy", "load", "power_presets", "profile", "quantile", "routes",
           "tables", "topology"]
