"""The floor for the single-quote benchmark (``bench/api_bench.py --rates``).

The same app as ``wellrate serve`` (settings, pool, middleware, the bearer-token lookup,
one transaction per request in one worker-thread hop: ``api.deps.in_transaction``) with
one more route, ``POST /bench/floor``, whose whole work is one INSERT and the COMMIT. A
quote's latency next to the floor's, at the same rates and in the same run, says what
pricing itself costs, apart from what any authenticated write costs on this machine.

    python bench/floor_server.py --workers 2    # as ``wellrate serve``, plus the route
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app
from api.auth.service import Principal
from api.deps import BearerDep, Tx, in_transaction
from core.settings import get_settings

TABLE = "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, principal_id bigint)"

router = APIRouter()


@router.post("/bench/floor", status_code=201)
async def floor(request: Request, _token: BearerDep) -> dict[str, Any]:
    def work(tx: Tx, who: Principal) -> dict[str, Any]:
        tx.conn.execute("INSERT INTO bench_floor (principal_id) VALUES (%s)", (who.principal_id,))
        return {"stored": True}

    return await in_transaction(request, ("insurer",), work)


def app_from_env() -> FastAPI:
    app = create_app(get_settings(), freeze_gc=True)
    app.include_router(router)
    return app


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    settings = get_settings()
    import uvicorn

    uvicorn.run(
        "bench.floor_server:app_from_env",
        factory=True,
        workers=args.workers,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=settings.api_timeout_keep_alive_s,
        limit_concurrency=settings.api_limit_concurrency,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
