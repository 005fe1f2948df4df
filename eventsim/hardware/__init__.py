"""Hardware cost models: profiles (TOML), energy from counts, many-core mapping and timing.

- :mod:`.profiles`: :func:`load_profile`, :class:`HardwareProfile`;
- :mod:`.energy`: :func:`estimate_energy` from a SPEC §4 counts dict (an EGRU's or a
  DeltaGRU's, SPEC §5, with its delta encoding);
- :mod:`.mapping`: placements of units onto cores and the SRAM fit check;
- :mod:`.timing`: the discrete-event timing simulation of a run on the chip.

See docs/hardware.md for every formula and file format.
"""
__all__ = ["WORKLOADS", "DELTAGRU", "energy_table", "estimate_energy", "HardwareProfile", "available_profiles",
           "load_profile"]

from .energy import DELTAGRU, WORKLOADS, energy_table, estimate_energy  # noqa: F401
from .profiles import HardwareProfile, available_profiles, load_profile  # noqa: F401
