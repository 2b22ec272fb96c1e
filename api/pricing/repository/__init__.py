"""Every SQL statement pricing runs, one module per area it owns.

``rulebooks`` (the versioned rule files), ``inputs`` (what a quote is computed from, besides
scoring's reads), ``quotes`` (stored quotes and the smoothing ledger), ``enrolments``
(insurers' enrolment and claim uploads), ``batch`` (batch jobs and their chunks) and
``reports`` (the portfolio, disclosure and budget reports' reads).

The caller owns the transaction; nothing here commits. Reads are bulk (``member_id =
ANY(%s::text[])``, :class:`core.db.TextArray`) so a batch chunk of thousands of members
costs a handful of round trips; quotes are written with COPY.
"""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]
