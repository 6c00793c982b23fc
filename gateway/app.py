"""The process: ``create_app(settings)`` builds the aiohttp application and owns its tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from core import Accounts, Database, Organisation, SecretBox, Settings, check_schema
from web import ACCOUNTS, DB, METRICS, ORG, SETTINGS, HttpMetrics, middlewares, setup_web

__all__ = ["SECRETS", "create_app"]

SECRETS = web.AppKey("secrets", SecretBox)


def create_app(settings: Settings, *, database: Database | None = None) -> web.Application:
    """Build the gateway; nothing connects until the application starts.

    Start-up refuses an unmigrated database with a message naming the command to run.
    """
    app = web.Application(middlewares=middlewares(), client_max_size=settings.http.max_body)
    app[SETTINGS] = settings
    app[DB] = database or Database(settings.database_url, echo=settings.database.echo)
    app[ACCOUNTS] = Accounts(settings.security)
    app[ORG] = Organisation()
    app[METRICS] = HttpMetrics.create(CollectorRegistry())
    # The key file is created on first start: a one-off 32-byte file, read before serving.
    app[SECRETS] = SecretBox.from_data_dir(settings.storage.data_dir)
    app.cleanup_ctx.append(_database_ctx)
    setup_web(app)
    return app


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    await check_schema(app[DB])
    yield
    await app[DB].close()
