"""Answers to a platform's MANSCDP queries (gb28181.md §4): Catalog, DeviceInfo,
DeviceStatus, RecordInfo, ConfigDownload, DeviceControl.

Each handler runs after the MESSAGE was answered 200 and sends its result as new
MESSAGEs (same SN as the query).  Multi-page results go one page at a time, each after
the 200 of the previous; over UDP every MESSAGE stays under 1300 bytes.  A platform sees
only its own channels: a query naming another ID gets ``Result ERROR`` (DeviceStatus) or
an empty list.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import metadata

from media import (
    CatalogItem,
    Manscdp,
    RecordItem,
    SipRequest,
    catalog_pages,
    device_info_response,
    device_status_response,
    encode_manscdp,
    record_info_pages,
    result_response,
)

from ._channels import Channel, ChannelSource, civil_code, speaker_id
from ._dispatch import QueryRouter
from ._platform import PlatformLink
from ._records import BEIJING, parse_gb_time, recordings_between
from ._transport import SipTransportError

__all__ = ["PlatformQueries", "catalog_items"]

log = logging.getLogger("uplink.queries")

#: Items per page when the platform is reached over TCP (no datagram limit).
TCP_PAGE_ITEMS = 20
#: RFC 3428: a MESSAGE outside a session stays within 1300 bytes over UDP.
UDP_MAX_BYTES = 1300


def page_limits(link: PlatformLink) -> tuple[int | None, int | None]:
    """(max_bytes, max_items) of a multi-page answer over the platform's transport."""
    if link.peer.transport == "UDP":
        return UDP_MAX_BYTES, None
    return None, TCP_PAGE_ITEMS


def _version() -> str:
    try:
        return metadata.version("zongzhi-gateway")
    except metadata.PackageNotFoundError:
        return "dev"


def catalog_items(device_id: str, channels: list[Channel]) -> list[CatalogItem]:
    """One item per camera (and one per camera speaker, type 137, where the camera talks)."""
    items: list[CatalogItem] = []
    for channel in channels:
        camera = CatalogItem(
            channel.gb_id,
            channel.name,
            manufacturer=channel.manufacturer or "zongzhi-gateway",
            model=channel.model or "IPC",
            civil_code=civil_code(channel.unit_code),
            address=channel.room,
            parent_id=device_id,
            online=channel.online,
            ptz_type=3,  # fixed camera: no PTZ
        )
        items.append(camera)
        if channel.talk:
            items.append(
                replace(
                    camera,
                    device_id=speaker_id(channel.gb_id),
                    name=f"{channel.name} 扬声器",
                    ptz_type=None,
                )
            )
    return items


class PlatformQueries:
    """Registers its handlers on :class:`uplink.QueryRouter` (``register_on``)."""

    def __init__(self, channels: ChannelSource) -> None:
        self.channels = channels

    def register_on(self, router: QueryRouter) -> None:
        router.register("Catalog", self.catalog)
        router.register("DeviceInfo", self.device_info)
        router.register("DeviceStatus", self.device_status)
        router.register("RecordInfo", self.record_info)
        router.register("ConfigDownload", self.config_download)
        router.register("DeviceControl", self.device_control)

    async def _send_pages(self, link: PlatformLink, pages: list[bytes], what: str) -> None:
        for index, page in enumerate(pages):
            try:
                response = await link.send_manscdp(page)
            except SipTransportError as exc:
                log.info("%s page %s/%s to %s unanswered: %s",
                         what, index + 1, len(pages), link.config.name, exc)  # fmt: skip
                return
            if not response.ok:
                log.info("%s page %s/%s refused by %s: %s",
                         what, index + 1, len(pages), link.config.name, response.status)  # fmt: skip
                return

    # ------------------------------------------------------------------ Catalog
    async def catalog(self, link: PlatformLink, body: Manscdp, request: SipRequest) -> None:
        channels = await self.channels.channels(link.config)
        items = catalog_items(link.device_id, channels)
        max_bytes, max_items = page_limits(link)
        pages = catalog_pages(
            items, body.sn, link.device_id, link.config.charset, max_bytes, max_items=max_items
        )
        await self._send_pages(link, pages, "catalog")

    # --------------------------------------------------------------- DeviceInfo
    async def device_info(self, link: PlatformLink, body: Manscdp, request: SipRequest) -> None:
        target = body.device_id or link.device_id
        charset = link.config.charset
        if target == link.device_id:
            channels = await self.channels.channels(link.config)
            firmware = await asyncio.to_thread(_version)  # package metadata is on disk
            answer = device_info_response(
                body.sn, target, charset, name="综治视频网关", manufacturer="zongzhi-gateway",
                model="GB/T 28181 gateway", firmware=firmware, channels=len(channels),
            )  # fmt: skip
        else:
            channel = await self.channels.channel(link.config, target)
            if channel is None:
                answer = device_info_response(
                    body.sn, target, charset, name="", manufacturer="", model="", firmware="",
                    ok=False,
                )  # fmt: skip
            else:
                answer = device_info_response(
                    body.sn, target, charset, name=channel.name,
                    manufacturer=channel.manufacturer, model=channel.model,
                    firmware=channel.firmware,
                )  # fmt: skip
        await self._send_pages(link, [answer], "DeviceInfo")

    # ------------------------------------------------------------- DeviceStatus
    async def device_status(self, link: PlatformLink, body: Manscdp, request: SipRequest) -> None:
        target = body.device_id or link.device_id
        now = datetime.now(BEIJING).replace(tzinfo=None)
        charset = link.config.charset
        if target == link.device_id:
            answer = device_status_response(
                body.sn, target, charset, online=True, device_time=now, encoding=True
            )
        else:
            channel = await self.channels.channel(link.config, target)
            answer = device_status_response(
                body.sn, target, charset,
                online=channel is not None and channel.online,
                ok=channel is not None, device_time=now,
                encoding=channel is not None and channel.online,
            )  # fmt: skip
        await self._send_pages(link, [answer], "DeviceStatus")

    # --------------------------------------------------------------- RecordInfo
    async def record_info(self, link: PlatformLink, body: Manscdp, request: SipRequest) -> None:
        target = body.device_id or ""
        channel = await self.channels.channel(link.config, target)
        end = parse_gb_time(body.text("EndTime")) or datetime.now(UTC)
        start = parse_gb_time(body.text("StartTime")) or end - timedelta(days=1)
        records: list[RecordItem] = []
        if channel is not None and start < end:
            spans = await recordings_between(
                self.channels.db, channel.camera_id, start, end, link.config.unit_code
            )
            wanted = (body.text("Type") or "all").lower()
            for span in spans:
                kind = "manual" if span.manual else "time"
                if wanted not in ("all", "", kind):
                    continue
                cases = f" 案件{'、'.join(span.case_numbers)}" if span.case_numbers else ""
                records.append(
                    RecordItem(
                        device_id=channel.gb_id,
                        name=f"{channel.name}{cases}",
                        start_time=span.start,
                        end_time=span.end,
                        type=kind,
                        file_size=span.bytes,
                        file_path=span.recording_id,
                    )
                )
        max_bytes, max_items = page_limits(link)
        pages = record_info_pages(
            records, body.sn, target, link.config.charset, max_bytes, max_items=max_items
        )
        await self._send_pages(link, pages, "RecordInfo")

    # ----------------------------------------------------------- ConfigDownload
    async def config_download(self, link: PlatformLink, body: Manscdp, request: SipRequest) -> None:
        config = link.config
        kinds = {k.strip() for k in (body.text("ConfigType") or "BasicParam").split("/")}
        root = ET.Element("Response")
        for tag, text in (("CmdType", "ConfigDownload"), ("SN", body.sn),
                          ("DeviceID", body.device_id or link.device_id)):  # fmt: skip
            ET.SubElement(root, tag).text = str(text)
        ET.SubElement(root, "Result").text = "OK" if "BasicParam" in kinds else "ERROR"
        if "BasicParam" in kinds:
            basic = ET.SubElement(root, "BasicParam")
            for tag, text in (
                ("Name", "综治视频网关"),
                ("DeviceID", link.device_id),
                ("SIPServerID", config.server_id),
                ("SIPServerIP", config.host),
                ("SIPServerPort", config.port),
                ("DomainName", config.domain),
                ("Expiration", config.expires),
                ("HeartBeatInterval", config.keepalive_interval),
                ("HeartBeatCount", config.keepalive_misses),
            ):
                ET.SubElement(basic, tag).text = str(text)
        await self._send_pages(link, [encode_manscdp(root, config.charset)], "ConfigDownload")

    # ------------------------------------------------------------ DeviceControl
    async def device_control(self, link: PlatformLink, body: Manscdp, request: SipRequest) -> None:
        """These room cameras have no PTZ, no guard and no remote reboot through the
        gateway: every command is refused with ``Result ERROR`` (PTZ included, so the
        operator sees it failed instead of waiting for a camera that never moves)."""
        commands = [child.tag for child in body.element if child.tag.endswith("Cmd")]
        log.info("DeviceControl %s from %s refused: not supported by the room cameras",
                 ",".join(commands) or "?", link.config.name)  # fmt: skip
        answer = result_response(
            "DeviceControl", body.sn, body.device_id or link.device_id, link.config.charset,
            ok=False,
        )  # fmt: skip
        await self._send_pages(link, [answer], "DeviceControl")
