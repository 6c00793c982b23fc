"""MANSCDP bodies the gateway sends, as a lower device/platform (GB/T 28181 §9, Annex A).

Pure core.  Every builder returns encoded bytes (:func:`media.encode_manscdp`: prolog
naming the charset, GB2312 → GB18030 fallback).  ``sn`` is the query's SN on a response
(wvp matches pages by (DeviceID, SN)) and any fresh number on a notify.

Catalog and RecordInfo results are *multi-response* messages (2016 Annex N / 2022 Annex
M): every page has the same SN, ``SumNum`` is the total, the list's ``Num`` the items of
this page; no items → ``SumNum`` 0 and no list.  The caller sends pages one by one, each
after the 200 OK of the previous.

Page budget.  Over UDP a MESSAGE outside a dialog must stay within 1300 bytes (RFC 3428;
wvp #853: a NVR whose MESSAGE spanned datagrams was unparseable).  ``max_bytes`` is that
limit for the *whole SIP message*; the body gets ``max_bytes - headroom``, and the
default :data:`SIP_HEADROOM` of 450 bytes covers the gateway's MESSAGE head: request
line, Via with rport and a 64-bit branch, From/To with 20-digit IDs and tags, a 128-bit
Call-ID, CSeq, Max-Forwards, User-Agent, Content-Type and Content-Length come to about
440 bytes with IPv4 addresses (a Dahua keepalive head is 408).  So a UDP page carries
one or two cameras.  An item that alone exceeds the budget still gets a page of its own
(longer than the limit: send it over TCP).  ``max_bytes=None`` (TCP) puts up to
``max_items`` items on a page, all of them by default.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from media._manscdp import clean_text, encode_manscdp

__all__ = [
    "CATALOG_EVENTS",
    "SIP_HEADROOM",
    "CatalogItem",
    "RecordItem",
    "broadcast_response",
    "catalog_notify",
    "catalog_pages",
    "device_info_response",
    "device_status_response",
    "keepalive_notify",
    "manscdp_body",
    "media_status_notify",
    "record_info_pages",
    "result_response",
]

SIP_HEADROOM = 450
UDP_MAX_BYTES = 1300
CATALOG_EVENTS = ("ON", "OFF", "VLOST", "DEFECT", "ADD", "DEL", "UPDATE")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _sub(parent: ET.Element, tag: str, text: object) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = clean_text(str(text))
    return child


def _envelope(root: str, cmd_type: str, sn: int, device_id: str | None) -> ET.Element:
    element = ET.Element(root)
    _sub(element, "CmdType", cmd_type)
    _sub(element, "SN", sn)
    if device_id is not None:
        _sub(element, "DeviceID", device_id)
    return element


def manscdp_body(
    root: str,
    cmd_type: str,
    sn: int,
    device_id: str | None,
    charset: str,
    fields: Iterable[tuple[str, object]] = (),
) -> bytes:
    """Any flat body: ``<root><CmdType/><SN/><DeviceID/>`` then ``fields`` in order
    (e.g. a platform's ``Query`` in tests, a ``Control`` …)."""
    element = _envelope(root, cmd_type, sn, device_id)
    for tag, text in fields:
        _sub(element, tag, text)
    return encode_manscdp(element, charset)


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One catalog entry: a camera (131/132), audio output (137) or group node.

    Emitted in the order of the 2016 schema (and the Dahua capture in gb28181.md):
    DeviceID, Name, Manufacturer, Model, Owner, CivilCode, Address, Parental, ParentID,
    RegisterWay, Secrecy, ``extra`` (IPAddress, Port …), Status, then ``<Info>`` with
    PTZType and ``info``.  wvp reads every field by name, so the order is for strict
    readers.
    """

    device_id: str
    name: str
    manufacturer: str = ""
    model: str = ""
    owner: str = "0"
    civil_code: str = ""
    address: str = ""
    parental: int = 0
    parent_id: str = ""
    register_way: int = 1
    secrecy: int = 0
    online: bool = True
    ptz_type: int | None = None  # 1 ball, 2 dome, 3 fixed, 4 remote-controlled fixed
    extra: tuple[tuple[str, str], ...] = ()
    info: tuple[tuple[str, str], ...] = ()

    def element(self, event: str | None = None) -> ET.Element:
        item = ET.Element("Item")
        _sub(item, "DeviceID", self.device_id)
        if event not in (None, "ADD", "UPDATE"):
            _sub(item, "Event", event)  # ON/OFF/DEL …: the ID is all wvp reads
            return item
        for tag, value in (
            ("Name", self.name),
            ("Manufacturer", self.manufacturer),
            ("Model", self.model),
            ("Owner", self.owner),
            ("CivilCode", self.civil_code),
            ("Address", self.address),
            ("Parental", self.parental),
            ("ParentID", self.parent_id),
            ("RegisterWay", self.register_way),
            ("Secrecy", self.secrecy),
            *self.extra,
            ("Status", "ON" if self.online else "OFF"),
        ):
            _sub(item, tag, value)
        if self.ptz_type is not None or self.info:
            info = ET.SubElement(item, "Info")
            if self.ptz_type is not None:
                _sub(info, "PTZType", self.ptz_type)
            for tag, value in self.info:
                _sub(info, tag, value)
        if event is not None:
            _sub(item, "Event", event)
        return item

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> CatalogItem:
        """Back from :meth:`media.Manscdp.items` (numbers that do not parse become 0)."""
        known = {"DeviceID", "Name", "Manufacturer", "Model", "Owner", "CivilCode"}
        known |= {"Address", "Parental", "ParentID", "RegisterWay", "Secrecy", "Status"}
        known |= {"PTZType", "Event"}
        ptz = fields.get("PTZType")
        return cls(
            device_id=fields.get("DeviceID", ""),
            name=fields.get("Name", ""),
            manufacturer=fields.get("Manufacturer", ""),
            model=fields.get("Model", ""),
            owner=fields.get("Owner", ""),
            civil_code=fields.get("CivilCode", ""),
            address=fields.get("Address", ""),
            parental=_int(fields.get("Parental")),
            parent_id=fields.get("ParentID", ""),
            register_way=_int(fields.get("RegisterWay")),
            secrecy=_int(fields.get("Secrecy")),
            online=fields.get("Status", "").upper() in ("ON", "ONLINE", "OK"),
            ptz_type=_int(ptz) if ptz is not None else None,
            extra=tuple((k, v) for k, v in fields.items() if k not in known),
        )


def _int(text: str | None) -> int:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else 0


@dataclass(frozen=True, slots=True)
class RecordItem:
    """One recording in a RecordInfo answer (times are local, as GB/T 28181 writes them)."""

    device_id: str
    name: str
    start_time: datetime
    end_time: datetime
    secrecy: int = 0
    type: str = "time"  # time, alarm, manual
    file_size: int | None = None
    file_path: str | None = None

    def element(self) -> ET.Element:
        item = ET.Element("Item")
        for tag, value in (
            ("DeviceID", self.device_id),
            ("Name", self.name),
            ("StartTime", self.start_time.strftime(_TIME_FORMAT)),
            ("EndTime", self.end_time.strftime(_TIME_FORMAT)),
            ("Secrecy", self.secrecy),
            ("Type", self.type),
        ):
            _sub(item, tag, value)
        if self.file_size is not None:
            _sub(item, "FileSize", self.file_size)
        if self.file_path is not None:
            _sub(item, "FilePath", self.file_path)
        return item


def _pages(
    root: str,
    cmd_type: str,
    sn: int,
    device_id: str,
    charset: str,
    list_tag: str,
    items: Sequence[ET.Element],
    max_bytes: int | None,
    headroom: int,
    max_items: int | None,
) -> list[bytes]:
    def page(chunk: Sequence[ET.Element]) -> bytes:
        element = _envelope(root, cmd_type, sn, device_id)
        _sub(element, "SumNum", len(items))
        if chunk:
            container = ET.SubElement(element, list_tag, Num=str(len(chunk)))
            container.extend(chunk)
        return encode_manscdp(element, charset)

    if not items:
        return [page(())]
    if max_bytes is None:
        step = max_items or len(items)
        return [page(items[i : i + step]) for i in range(0, len(items), step)]
    budget = max_bytes - headroom
    pages: list[bytes] = []
    first = 0  # items[first:end] is the page being filled
    body = page(items[:1])
    for end in range(2, len(items) + 1):
        fits = max_items is None or end - first <= max_items
        trial = page(items[first:end]) if fits else b""
        if fits and len(trial) <= budget:
            body = trial
        else:
            pages.append(body)
            first = end - 1
            body = page(items[first:end])
    pages.append(body)
    return pages


def catalog_pages(
    items: Sequence[CatalogItem],
    sn: int,
    device_id: str,
    charset: str,
    max_bytes: int | None = UDP_MAX_BYTES,
    *,
    headroom: int = SIP_HEADROOM,
    max_items: int | None = None,
) -> list[bytes]:
    """The Catalog ``Response`` pages for a Catalog ``Query`` (see the page budget above)."""
    elements = [item.element() for item in items]
    return _pages(
        "Response", "Catalog", sn, device_id, charset, "DeviceList", elements,
        max_bytes, headroom, max_items,
    )  # fmt: skip


def catalog_notify(
    items: Sequence[CatalogItem],
    event: str,
    sn: int,
    device_id: str,
    charset: str,
    max_bytes: int | None = UDP_MAX_BYTES,
    *,
    headroom: int = SIP_HEADROOM,
    max_items: int | None = None,
) -> list[bytes]:
    """Catalog ``Notify`` pages (for a subscription's NOTIFY): each item with ``<Event>``.

    ADD and UPDATE carry the whole item; ON, OFF, DEL, VLOST and DEFECT only its ID.
    """
    if event not in CATALOG_EVENTS:
        raise ValueError(f"catalog event {event!r} is not one of {', '.join(CATALOG_EVENTS)}")
    elements = [item.element(event) for item in items]
    return _pages(
        "Notify", "Catalog", sn, device_id, charset, "DeviceList", elements,
        max_bytes, headroom, max_items,
    )  # fmt: skip


def record_info_pages(
    records: Sequence[RecordItem],
    sn: int,
    device_id: str,
    charset: str,
    max_bytes: int | None = UDP_MAX_BYTES,
    *,
    headroom: int = SIP_HEADROOM,
    max_items: int | None = None,
) -> list[bytes]:
    """The RecordInfo ``Response`` pages for a RecordInfo ``Query`` on channel ``device_id``."""
    elements = [record.element() for record in records]
    return _pages(
        "Response", "RecordInfo", sn, device_id, charset, "RecordList", elements,
        max_bytes, headroom, max_items,
    )  # fmt: skip


def keepalive_notify(sn: int, device_id: str, charset: str, *, status: str = "OK") -> bytes:
    """The keepalive ``Notify`` (gb28181.md §3.1)."""
    return manscdp_body("Notify", "Keepalive", sn, device_id, charset, [("Status", status)])


def result_response(
    cmd_type: str, sn: int, device_id: str, charset: str, *, ok: bool = True
) -> bytes:
    """``<Response>…<Result>OK|ERROR</Result>``: control answers, Catalog SUBSCRIBE …"""
    result = [("Result", "OK" if ok else "ERROR")]
    return manscdp_body("Response", cmd_type, sn, device_id, charset, result)


def broadcast_response(sn: int, device_id: str, charset: str, *, ok: bool = True) -> bytes:
    """Answer to a Broadcast ``Notify``; ``device_id`` is its TargetID (ERROR when busy)."""
    return result_response("Broadcast", sn, device_id, charset, ok=ok)


def media_status_notify(sn: int, device_id: str, charset: str, *, notify_type: int = 121) -> bytes:
    """MediaStatus ``Notify``; 121 = end of file (send it inside the INVITE dialog)."""
    fields = [("NotifyType", notify_type)]
    return manscdp_body("Notify", "MediaStatus", sn, device_id, charset, fields)


def device_info_response(
    sn: int,
    device_id: str,
    charset: str,
    *,
    name: str,
    manufacturer: str,
    model: str,
    firmware: str,
    channels: int | None = None,
    ok: bool = True,
) -> bytes:
    """DeviceInfo ``Response`` (wvp reads DeviceName, Manufacturer, Model, Firmware)."""
    fields: list[tuple[str, object]] = [
        ("DeviceName", name),
        ("Result", "OK" if ok else "ERROR"),
        ("Manufacturer", manufacturer),
        ("Model", model),
        ("Firmware", firmware),
    ]
    if channels is not None:
        fields.append(("Channel", channels))
    return manscdp_body("Response", "DeviceInfo", sn, device_id, charset, fields)


def device_status_response(
    sn: int,
    device_id: str,
    charset: str,
    *,
    online: bool = True,
    ok: bool = True,
    device_time: datetime | None = None,
    encoding: bool | None = None,
    recording: bool | None = None,
) -> bytes:
    """DeviceStatus ``Response`` (wvp reads only ``Online``); ERROR for unknown channels."""
    element = _envelope("Response", "DeviceStatus", sn, device_id)
    _sub(element, "Result", "OK" if ok else "ERROR")
    _sub(element, "Online", "ONLINE" if online else "OFFLINE")
    _sub(element, "Status", "OK" if ok else "ERROR")
    if device_time is not None:
        _sub(element, "DeviceTime", device_time.strftime(_TIME_FORMAT))
    ET.SubElement(element, "Alarmstatus", Num="0")
    if encoding is not None:
        _sub(element, "Encode", "ON" if encoding else "OFF")
    if recording is not None:
        _sub(element, "Record", "ON" if recording else "OFF")
    return encode_manscdp(element, charset)
