"""The process: ``create_app(settings)`` builds the aiohttp application and owns its tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from cases import CaseService, LedgerService
from core import Accounts, Database, Organisation, SecretBox, Settings, check_schema
from meetings import MeetingRooms, MeetingService
from sessions import LiveSessions, LiveSettings
from uplink import RestreamAccounts, RestreamServer
from web import (
    ACCOUNTS,
    CAMERA_LEASES,
    CAMERAS,
    CASES,
    DB,
    LEDGERS,
    LIVE,
    MEETINGS,
    METRICS,
    ORG,
    RECORDINGS,
    RESTREAM,
    RESTREAM_ACCOUNTS,
    ROOMS,
    SETTINGS,
    HttpMetrics,
    middlewares,
    setup_web,
)

from ._cameras import cameras_ctx, setup_cameras
from ._recordings import recordings_ctx, setup_recordings
from ._restream import OwnerLocator
from ._uplink import setup_uplink, uplink_ctx

__all__ = ["SECRETS", "create_app"]

SECRETS = web.AppKey("secrets", SecretBox)
_LOCATOR = web.AppKey("restream_locator", OwnerLocator)


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
    # trusted-device cookies hold across restarts and every process of a deployment
    app[ACCOUNTS].device_key = app[SECRETS].derive("sign-in-devices")
    setup_cameras(app, app[SECRETS])
    # Recording needs the running cameras: set CAMERAS before this line.
    recorder = setup_recordings(app, settings)
    app[CASES] = CaseService(app[DB], app[SECRETS], recorder=recorder)
    app[LEDGERS] = LedgerService(app[DB])
    app[MEETINGS] = MeetingService(app[DB], feed_key=app[SECRETS].derive("meeting-calendar"))
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(cameras_ctx)  # after the database check, before the consumers
    app.cleanup_ctx.append(recordings_ctx)
    # Live view and talk-back ride on the running cameras' hubs and backchannels; the
    # recorder is told who talks so the talk-back track carries the talker's name.
    app[LIVE] = LiveSessions(
        app[CAMERAS],
        app[DB],
        LiveSettings.from_settings(settings.webrtc),
        on_talker=app[RECORDINGS].set_talker,
    )
    app.cleanup_ctx.append(_live_ctx)
    # GB/T 28181 upper platforms: media from the same hubs, recordings from the index.
    setup_uplink(app, app[SECRETS])
    app.cleanup_ctx.append(uplink_ctx)
    _setup_restream(app, settings)
    # Meeting rooms share live view's ICE settings; the process's node id names the host.
    # Room cameras join from their hubs and play the meeting through their backchannel,
    # sharing the talk floor with live talk-back.
    app[ROOMS] = MeetingRooms(
        app[MEETINGS],
        node_id=app[CAMERA_LEASES].node_id,
        live=app[LIVE].settings,
        cameras=app[CAMERAS],
        sessions=app[LIVE],
        recorder=app[RECORDINGS],
        is_live=lambda node: node in app[CAMERA_LEASES].live_nodes,
    )
    app.cleanup_ctx.append(_meetings_ctx)
    setup_web(app)
    return app


def _setup_restream(app: web.Application, settings: Settings) -> None:
    """The RTSP restream rides on the running cameras' hubs, like live view."""
    app[RESTREAM_ACCOUNTS] = RestreamAccounts(app[SECRETS])
    conf = settings.restream
    if not conf.enabled:
        return
    # pulls of cameras another process runs are redirected there
    app[_LOCATOR] = OwnerLocator(app[CAMERA_LEASES])
    app[RESTREAM] = RestreamServer(
        app[CAMERAS],
        app[DB],
        app[RESTREAM_ACCOUNTS],
        app[SECRETS].derive("restream-digest-nonces"),
        host=conf.host,
        port=conf.port,
        session_timeout=float(conf.session_timeout),
        max_connections=conf.max_connections,
        own_port=conf.own_port or None,
        locate=app[_LOCATOR],
    )
    app.cleanup_ctx.append(_restream_ctx)


async def _restream_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[RESTREAM].start()
    yield
    # every pull ended and audited before the hubs and the database go
    await app[RESTREAM].close()
    await app[_LOCATOR].close()


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    await check_schema(app[DB])
    yield
    await app[DB].close()


async def _meetings_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    # Every participant's leave recorded before the database goes.
    await app[ROOMS].close()


async def _live_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    # Every peer connection closed and every session end audited, before the database goes.
    await app[LIVE].close()
