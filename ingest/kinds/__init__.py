"""One module per reading kind, Tidepool style: what a valid reading of that kind is.

Each of ``bp``, ``glucose`` and ``activity`` holds, side by side, the kind's accepted
reading (a dataclass), its plausibility bounds with their sources, its validator for the
compact and the Open mHealth shapes, and (for BP and glucose) its fast path for the plain
compact shape, which applies the very same bounds. ``common`` holds what every kind shares:
the rejection, the limits, the field and timestamp checks. ``ingest.readings`` picks the
kind's module by name.
"""
