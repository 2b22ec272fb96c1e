"""Clinical indicators (pure numpy): one module per domain, the rules they share.

``bp``, ``cgm``, ``smbg``, ``activity`` and ``hospitalisation`` each compute one stored
contract; where scoring needs it for a whole chunk, the per-member reference definition and
its columnar form sit side by side in the same module. ``rules`` holds every clinical
threshold, target, duration, sufficiency rule and the glucose run, event and alert rules;
``grouped`` the grouped reductions the columnar forms are built on.
"""
