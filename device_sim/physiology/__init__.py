"""Physiology models: what a member's devices would measure, as numpy arrays.

Each model takes a :class:`~device_sim.cohort.SimMember`, the first simulated day and a
number of days, and returns a series of epoch-second timestamps with values. They are
pure functions of the member's seed, so a day's readings are the same whichever mode
(backfill, real-time) asks for them.
"""
