"""``wellrate serve``: run the API with uvicorn on the configured host and port."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from core.settings import get_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wellrate serve", description=__doc__)
    parser.add_argument("--host", help="bind address (default: WELLRATE_API_HOST)")
    parser.add_argument("--port", type=int, help="port (default: WELLRATE_API_PORT)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args(list(argv or []))
    settings = get_settings()

    import uvicorn

    host = args.host or settings.api_host
    port = args.port or settings.api_port
    if args.workers > 1:
        # Several processes need an import string; each builds its app from the environment.
        uvicorn.run(
            "api.app:app_from_env",
            factory=True,
            workers=args.workers,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_keep_alive=settings.api_timeout_keep_alive_s,
            limit_concurrency=settings.api_limit_concurrency,
        )
    else:
        from api.app import create_app

        # log_config=None keeps the logging core.logs configured.
        uvicorn.run(
            create_app(settings, freeze_gc=True),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_keep_alive=settings.api_timeout_keep_alive_s,
            limit_concurrency=settings.api_limit_concurrency,
        )
    return 0
