"""The ground floor every Wellrate package stands on: settings, the database and its
migrations, units, logging, embedded services for the demo, the payload format and the
domain errors.

Imports no other Wellrate package (``tests/test_quality.py`` checks it); the packages are
wired together in ``wellrate``, the composition root.
"""
