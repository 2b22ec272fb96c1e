"""The composition root: the ``wellrate`` command, the demo pipeline and the portfolio run.

The one package allowed to import every other (``core``, ``ingest``, ``scoring``,
``device_sim``, ``api``); nothing imports it. Each of those packages stays independent of
the others and is wired together only here (docs/architecture.md, "Import rules").
"""
