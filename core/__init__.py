"""Code shared by every Wellrate package: settings, database access, migrations, units.

Kept deliberately small. Nothing here imports ``ingest``, ``scoring``, ``api`` or
``device_sim`` except :mod:`core.cli`, the composition root, which does so lazily.
"""
