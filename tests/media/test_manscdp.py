"""MANSCDP bodies: what we build parses back in GB2312, GB18030 and UTF-8 with Chinese
names; the GB2312 → GB18030 fallback; captures from gb28181.md; lenient parsing of
sloppy devices; hostile XML refused quickly; and catalog paging within a UDP datagram."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import (
    CatalogItem,
    ManscdpError,
    RecordItem,
    SipRequest,
    Via,
    broadcast_response,
    catalog_notify,
    catalog_pages,
    device_info_response,
    device_status_response,
    keepalive_notify,
    manscdp_body,
    media_status_notify,
    new_call_id,
    new_tag,
    normalise_charset,
    parse_manscdp,
    parse_sip,
    record_info_pages,
    result_response,
)

GATEWAY = "34020000001180000001"
SERVER = "34020000002000000001"
CODECS = {"GB2312": "gb2312", "GB18030": "gb18030", "UTF-8": "utf-8"}


def _declared(body: bytes) -> str:
    prolog = body.split(b"?>", 1)[0].decode("ascii")
    return prolog.split('encoding="', 1)[1].split('"', 1)[0]


def _camera(n: int, name: str, **kw: object) -> CatalogItem:
    defaults: dict[str, object] = {
        "manufacturer": "zongzhi",
        "model": "gateway",
        "civil_code": "340200",
        "address": "调解室",
        "parent_id": GATEWAY,
        "ptz_type": 3,
    }
    return CatalogItem(f"3402000000132{n:07d}", name, **{**defaults, **kw})  # type: ignore[arg-type]


# ------------------------------------------------------------------ round trips
_names = (
    st.text(
        st.one_of(
            st.sampled_from("调解室一号摄像机综治中心萳㵘&<>\"' "),
            st.characters(min_codepoint=0x20, max_codepoint=0x7E),
            st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        ),
        min_size=1,
        max_size=16,
    )
    .map(str.strip)
    .filter(bool)
)


@given(
    st.sampled_from(["GB2312", "GB18030", "UTF-8"]),
    st.lists(_names, max_size=5),
    st.integers(1, 2**31),
)
@settings(max_examples=150, deadline=None)
def test_catalog_round_trips_in_every_charset(charset: str, names: list[str], sn: int) -> None:
    items = [_camera(i, name, online=i % 2 == 0) for i, name in enumerate(names)]
    (page,) = catalog_pages(items, sn, GATEWAY, charset, None)
    declared = _declared(page)
    try:
        "".join(names).encode("gb2312")
        expected = charset
    except UnicodeEncodeError:
        expected = "GB18030" if charset == "GB2312" else charset
    assert declared == expected
    page.decode(CODECS[declared])  # the prolog says exactly what the bytes are
    for hint in (None, charset, "UTF-8"):
        msg = parse_manscdp(page, hint)
        assert (msg.root, msg.cmd_type, msg.sn, msg.device_id) == (
            "Response",
            "Catalog",
            sn,
            GATEWAY,
        )
        assert msg.text("SumNum") == str(len(items)) and msg.charset == declared
        assert [CatalogItem.from_fields(f) for f in msg.items()] == items


def test_gb2312_falls_back_to_gb18030_only_when_needed() -> None:
    plain = keepalive_notify(1, GATEWAY, "gb2312")
    assert plain.startswith(
        b'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\n<CmdType>Keepalive'
    )
    (rare,) = catalog_pages([_camera(1, "萳村调解室")], 5, GATEWAY, "GB2312")
    assert _declared(rare) == "GB18030"
    # every character GB2312 has keeps its GB2312 bytes; only 萳 needs GB18030
    assert "调解室".encode("gb2312") in rare and "萳".encode("gb18030") in rare
    assert parse_manscdp(rare, "GB2312").items()[0]["Name"] == "萳村调解室"


def test_names_are_escaped_and_control_characters_dropped() -> None:
    (page,) = catalog_pages([_camera(1, "A&B <调解>\x01")], 1, GATEWAY, "UTF-8")
    assert b"A&amp;B &lt;\xe8\xb0\x83\xe8\xa7\xa3&gt;</Name>" in page
    assert parse_manscdp(page).items()[0]["Name"] == "A&B <调解>"


# ---------------------------------------------------------- gb28181.md captures
CATALOG_RESPONSE = """<?xml version="1.0" encoding="GB2312" standalone="yes" ?>
<Response>
  <CmdType>Catalog</CmdType>
  <SN>4</SN>
  <DeviceID>34020000001180000001</DeviceID>
  <SumNum>4</SumNum>
  <DeviceList Num="1">
    <Item>
      <DeviceID>34020000001310000004</DeviceID>
      <Name>1.64 海康摄像机</Name>
      <Manufacturer>General</Manufacturer>
      <Model>DS-2CD2725EFD-IS</Model>
      <Owner>0</Owner>
      <CivilCode>340200</CivilCode>
      <Address>axy</Address>
      <Parental>0</Parental>
      <ParentID>34020000001180000001</ParentID>
      <RegisterWay>1</RegisterWay>
      <Secrecy>0</Secrecy>
      <StreamNum>2</StreamNum>
      <IPAddress>192.168.1.64</IPAddress>
      <Port>80</Port>
      <Password></Password>
      <Status>ON</Status>
      <Info><PTZType>3</PTZType><DownloadSpeed>1/2/4/8</DownloadSpeed></Info>
    </Item>
  </DeviceList>
</Response>
""".encode("gb2312")


def test_dahua_gb2312_catalog_response() -> None:
    msg = parse_manscdp(CATALOG_RESPONSE)
    assert (msg.cmd_type, msg.sn, msg.charset) == ("Catalog", 4, "GB2312")
    (fields,) = msg.items()
    assert fields["Name"] == "1.64 海康摄像机" and fields["DownloadSpeed"] == "1/2/4/8"
    item = CatalogItem.from_fields(fields)
    assert item.ptz_type == 3 and item.online and item.parent_id == GATEWAY
    assert ("IPAddress", "192.168.1.64") in item.extra and ("Password", "") in item.extra


def test_queries_and_notifies_from_the_platform() -> None:
    query = parse_manscdp(
        b'<?xml version="1.0" encoding="GB2312"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>\r\n'
        b"<SN>471</SN>\r\n<DeviceID>34020000001180000001</DeviceID>\r\n</Query>\r\n"
    )
    assert (query.root, query.cmd_type, query.sn, query.device_id) == (
        "Query",
        "Catalog",
        471,
        GATEWAY,
    )
    broadcast = parse_manscdp(
        b'<?xml version="1.0" ?>\n<Notify>\n<CmdType>Broadcast</CmdType>\n<SN>914042</SN>\n'
        b"<SourceID>34020000002000000001</SourceID>\n<TargetID>34020000001370000001</TargetID>\n</Notify>"
    )
    assert broadcast.device_id is None and broadcast.fields["TargetID"] == "34020000001370000001"
    dahua = parse_sip(
        b"MESSAGE sip:34020000002000000001@192.168.1.125:5060 SIP/2.0\r\nCall-ID: 1\r\n\r\n"
        b'<?xml version="1.0" encoding="GB2312" ?>\n<Notify>\n    <CmdType>Keepalive</CmdType>\n'
        b"    <SN>4</SN>\n    <DeviceID>34020000001320000001</DeviceID>\n    <Status>OK</Status>\n</Notify>\n"
    )
    assert dahua is not None
    keepalive = parse_manscdp(dahua.body)
    assert keepalive.cmd_type == "Keepalive" and keepalive.fields["Status"] == "OK"


# ------------------------------------------------------------------- leniency
@pytest.mark.parametrize(
    ("body", "charset", "name"),
    [
        (
            b"<Response><CmdType>Catalog</CmdType><SN>1</SN><Name>A&B</Name></Response>",
            None,
            "A&B",
        ),
        (
            '<?xml version="1.0" encoding="UTF-8"?><R><CmdType>x</CmdType><SN>1</SN><Name>海康</Name></R>'.encode(
                "gb18030"
            ),
            None,
            "海康",
        ),
        (
            "<R><CmdType>x</CmdType><SN>1</SN><Name>综治</Name></R>".encode("gb2312"),
            "GB2312",
            "综治",
        ),
        (
            "\ufeff<R><CmdType>x</CmdType><SN> 1 </SN><Name>综治</Name></R>\x00\x00".encode(),
            None,
            "综治",
        ),
        (
            b'<R xmlns="urn:x"><CmdType>x</CmdType><SN>1</SN><Name>a&nbsp;b</Name></R>',
            None,
            "a&nbsp;b",
        ),
        (
            b'<?xml version="1.0" encoding="GB2312"?><R><CmdType>x</CmdType><SN>1</SN><Name>\xba\xa3\xff\xff</Name></R>',
            None,
            "海\ufffd\ufffd",
        ),
        (
            b'<?xml version="1.0" encoding="x-nonsense"?><R><CmdType>x</CmdType><SN>1</SN><Name>ok</Name></R>',
            None,
            "ok",
        ),
        *[
            (
                f'<?xml version="1.0" encoding="{name}"?><R><CmdType>x</CmdType><SN>1</SN><Name>ok</Name></R>'.encode(),
                None,
                "ok",
            )
            for name in ("punycode", "utf-16", "idna", "rot13", "uu")
        ],
        (
            b'<?xml version="1.0" encoding="EUC-CN"?><R><CmdType>x</CmdType><SN>1</SN><Name>\xba\xa3</Name></R>',
            None,
            "海",
        ),
    ],
)
def test_sloppy_devices_still_parse(body: bytes, charset: str | None, name: str) -> None:
    msg = parse_manscdp(body, charset)
    assert msg.sn == 1 and msg.fields["Name"] == name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<Response><SN>1</SN></Response>", "no CmdType"),
        (b"<Response><CmdType>x</CmdType><SN>abc</SN></Response>", "SN"),
        (b"<Response><CmdType>x</CmdType><SN>\xc2\xb2</SN></Response>", "SN"),
        (b"<Response><CmdType>x</CmdType>", "not well-formed"),
        (b"", "not well-formed"),
    ],
)
def test_bad_bodies(body: bytes, message: str) -> None:
    with pytest.raises(ManscdpError, match=message):
        parse_manscdp(body)


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<Query><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>&lol9;</DeviceID></Query>"""
XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE q [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Query><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>&xxe;</DeviceID></Query>"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (LAUGHS, "DTD"),
        (XXE, "DTD"),
        (b"<!doctype q><Query/>", "DTD"),
        (b"<Q>" + b"<a>" * 20000 + b"</a>" * 20000 + b"</Q>", "deeper"),
        (b"<Query>" + b"x" * 10_000_000 + b"</Query>", "exceeds"),
    ],
)
def test_hostile_xml_is_refused_quickly(body: bytes, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ManscdpError, match=message):
        parse_manscdp(body)
    with pytest.raises(ManscdpError, match=message):
        parse_manscdp(body.decode("latin-1"))
    assert time.perf_counter() - started < 1.0


@given(st.one_of(st.binary(max_size=1500), st.text(max_size=500)))
@settings(max_examples=400, deadline=None)
def test_garbage_raises_only_manscdp_error(body: bytes | str) -> None:
    for blob in (body, "<Query><CmdType>x</CmdType><SN>1</SN>" + repr(body) + "</Query>"):
        with contextlib.suppress(ManscdpError):
            msg = parse_manscdp(blob, "GB2312")
            msg.items(), msg.fields, msg.text("SN")


# ---------------------------------------------------------------------- paging
def _message(body: bytes) -> bytes:
    """The gateway's MESSAGE carrying ``body``, with realistically long headers."""
    headers = (
        ("Via", Via.create("UDP", "203.107.111.122", 15060).encode()),
        ("From", f"<sip:{GATEWAY}@3402000000>;tag={new_tag()}"),
        ("To", f"<sip:{SERVER}@3402000000>"),
        ("Call-ID", new_call_id("203.107.111.122")),
        ("CSeq", "2147483647 MESSAGE"),
        ("Max-Forwards", "70"),
        ("User-Agent", "zongzhi-gateway/0.1"),
        ("Content-Type", "Application/MANSCDP+xml"),
    )
    return SipRequest("MESSAGE", f"sip:{SERVER}@3402000000", headers, body).encode()


_short = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=16)


@given(
    st.lists(st.tuples(_short, _short, st.booleans()), max_size=25),
    st.sampled_from(["GB2312", "GB18030", "UTF-8"]),
    st.integers(1, 2**31),
)
@settings(max_examples=100, deadline=None)
def test_udp_pages_fit_a_datagram_and_keep_every_item(
    rows: list[tuple[str, str, bool]], charset: str, sn: int
) -> None:
    items = [_camera(i, name, address=addr, online=on) for i, (name, addr, on) in enumerate(rows)]
    pages = catalog_pages(items, sn, GATEWAY, charset)
    assert all(len(_message(page)) <= 1300 for page in pages)
    parsed = [parse_manscdp(page) for page in pages]
    assert {(m.sn, m.text("SumNum")) for m in parsed} == {(sn, str(len(items)))}
    got = [CatalogItem.from_fields(f) for m in parsed for f in m.items()]
    assert got == items
    for m in parsed:
        device_list = m.element.find("DeviceList")
        if items:
            assert device_list is not None and device_list.get("Num") == str(len(m.items()))
        else:
            assert device_list is None
    if not items:
        assert len(pages) == 1 and parsed[0].text("SumNum") == "0"


def test_paging_edges() -> None:
    items = [_camera(i, f"摄像机{i}") for i in range(7)]
    assert len(catalog_pages(items, 1, GATEWAY, "UTF-8", None)) == 1
    assert [
        len(parse_manscdp(p).items())
        for p in catalog_pages(items, 1, GATEWAY, "UTF-8", None, max_items=3)
    ] == [3, 3, 1]
    assert all(
        len(parse_manscdp(p).items()) <= 2
        for p in catalog_pages(items, 1, GATEWAY, "UTF-8", 2000, max_items=2)
    )
    huge = _camera(99, "大" * 600)  # alone over the budget: a page of its own (send over TCP)
    pages = catalog_pages([items[0], huge, items[1]], 1, GATEWAY, "GB2312")
    assert [len(parse_manscdp(p).items()) for p in pages] == [1, 1, 1] and len(pages[1]) > 850


# ------------------------------------------------------------------- builders
def test_catalog_notify_events() -> None:
    item = _camera(1, "一号")
    (added,) = catalog_notify([item], "ADD", 9, GATEWAY, "GB2312")
    msg = parse_manscdp(added)
    assert (
        msg.root == "Notify"
        and msg.items()[0]["Event"] == "ADD"
        and msg.items()[0]["Name"] == "一号"
    )
    (off,) = catalog_notify([item], "OFF", 10, GATEWAY, "GB2312")
    assert parse_manscdp(off).items() == [{"DeviceID": item.device_id, "Event": "OFF"}]
    with pytest.raises(ValueError, match="catalog event"):
        catalog_notify([item], "GONE", 1, GATEWAY, "GB2312")


def test_record_info_pages_round_trip() -> None:
    start = datetime(2024, 1, 1, 8, 0, 0)
    records = [
        RecordItem(
            "34020000001320000001",
            f"调解录像{i}",
            start.replace(hour=8 + i),
            start.replace(hour=9 + i),
            file_size=1024 * i,
        )
        for i in range(5)
    ]
    pages = record_info_pages(records, 77, "34020000001320000001", "GB2312")
    got = [f for p in pages for f in parse_manscdp(p).items("RecordList")]
    assert [(f["Name"], f["StartTime"], f["EndTime"], f["Type"]) for f in got] == [
        (r.name, f"2024-01-01T{8 + i:02d}:00:00", f"2024-01-01T{9 + i:02d}:00:00", "time")
        for i, r in enumerate(records)
    ]
    (empty,) = record_info_pages([], 78, "34020000001320000001", "GB2312")
    assert parse_manscdp(empty).text("SumNum") == "0" and b"RecordList" not in empty


def test_simple_bodies() -> None:
    info = parse_manscdp(
        device_info_response(
            5,
            GATEWAY,
            "UTF-8",
            name="综治网关",
            manufacturer="zongzhi",
            model="ZZ-1",
            firmware="0.1",
            channels=4,
        )
    )
    assert info.fields == {
        "CmdType": "DeviceInfo", "SN": "5", "DeviceID": GATEWAY, "DeviceName": "综治网关", "Result": "OK",
        "Manufacturer": "zongzhi", "Model": "ZZ-1", "Firmware": "0.1", "Channel": "4",
    }  # fmt: skip
    status = parse_manscdp(
        device_status_response(
            6,
            GATEWAY,
            "GB2312",
            online=False,
            device_time=datetime(2023, 9, 15, 21, 30, 15),
            recording=True,
        )
    )
    assert (
        status.fields["Online"] == "OFFLINE"
        and status.fields["DeviceTime"] == "2023-09-15T21:30:15"
    )
    assert status.fields["Record"] == "ON" and status.element.find("Alarmstatus").get("Num") == "0"  # type: ignore[union-attr]
    busy = parse_manscdp(broadcast_response(914042, "34020000001370000001", "GB2312", ok=False))
    assert (busy.cmd_type, busy.sn, busy.fields["Result"]) == ("Broadcast", 914042, "ERROR")
    eof = parse_manscdp(media_status_notify(3, "34020000001320000001", "GB18030"))
    assert (eof.root, eof.cmd_type, eof.fields["NotifyType"]) == ("Notify", "MediaStatus", "121")
    subscribed = parse_manscdp(result_response("Catalog", 8, GATEWAY, "UTF-8"))
    assert subscribed.fields["Result"] == "OK"
    query = parse_manscdp(
        manscdp_body(
            "Query",
            "RecordInfo",
            9,
            "34020000001320000001",
            "GB2312",
            [("StartTime", "2024-01-01T00:00:00"), ("Type", "all")],
        )
    )
    assert query.root == "Query" and query.fields["Type"] == "all"
    with pytest.raises(ValueError, match="charset"):
        normalise_charset("big5")
    assert normalise_charset(" gbk ") == "GB18030" and normalise_charset("utf8") == "UTF-8"
