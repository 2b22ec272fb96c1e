"""The tenancy gate's own SQL: who runs a product.

(The member gate's statement writes the audit row as it decides, so it lives with the audit
log: ``api.audit.repository.send_member_access``.)
"""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def product_owner(conn: Conn, product_id: str) -> str | None:
    """The insurer running ``product_id``, or None for a product nobody runs."""
    row = conn.execute(
        "SELECT insurer_id FROM insurer_products WHERE product_id = %s", (product_id,)
    ).fetchone()
    return None if row is None else str(row[0])
