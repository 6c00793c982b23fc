#!/usr/bin/python3
"""A third-party RTSP peer for tests: GStreamer's RTSP server (gst-rtsp-server).

Run with Debian's ``/usr/bin/python3`` (the GStreamer bindings are not in the venv).
It serves ``/cam`` with H.264 (x264, no B-frames) and G.711 audio, optionally with the
ONVIF audio backchannel (``--onvif``: GstRTSPOnvifServer answers
``Require: www.onvif.org/ver20/backchannel`` with an extra ``sendonly`` track; what the
client sends is written as raw G.711 to ``--backchannel-out``).  Without ``--onvif`` the
plain server answers that Require header with ``551 Option not supported``, like a camera
without a speaker.  Prints ``READY <port>`` on stdout once it listens.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

_AUDIO = {
    "pcmu": ("mulawenc", "rtppcmupay pt=0"),
    "pcma": ("alawenc", "rtppcmapay pt=8"),
}


def _launch(args: argparse.Namespace) -> str:
    video = (
        f"videotestsrc is-live=true pattern={args.pattern} ! "
        f"video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 ! "
        f"x264enc tune=zerolatency bframes=0 speed-preset=ultrafast bitrate={args.bitrate} "
        f"key-int-max={args.gop} ! video/x-h264,profile=baseline ! "
        f"rtph264pay name=pay0 pt=96 config-interval={args.config_interval}"
    )
    if args.audio == "none":
        return f"( {video} )"
    enc, pay = _AUDIO[args.audio]
    audio = (
        f"audiotestsrc is-live=true wave=sine freq={args.tone} ! "
        f"audio/x-raw,rate=8000,channels=1 ! {enc} ! {pay} name=pay1"
    )
    return f"( {video} {audio} )"


class _OneEncodeFactory(GstRtspServer.RTSPMediaFactory):  # type: ignore[misc]
    """Every mount point of this factory shares one media (one encode): the default key
    is the URL, which would build a pipeline per mount."""

    def do_gen_key(self, _url: object) -> str:
        return "one-encode"


def _watch_reports(media: GstRtspServer.RTSPMedia) -> None:
    """Print what rtpbin makes of the RTCP a client sends, one line per report about our
    stream: ``RB stream=<i> cname=<client CNAME> highest=<n> lost=<n> jitter=<n>``."""

    def on_active(index: int, source: object) -> None:
        stats = source.get_property("stats")  # type: ignore[attr-defined]
        if stats.has_field("have-rb") and stats.get_value("have-rb"):
            sdes = source.get_property("sdes")  # type: ignore[attr-defined]
            cname = sdes.get_value("cname") if sdes.has_field("cname") else ""
            print(
                f"RB stream={index} cname={cname} "
                f"highest={stats.get_value('rb-exthighestseq')} "
                f"lost={stats.get_value('rb-packetslost')} "
                f"jitter={stats.get_value('rb-jitter')}",
                flush=True,
            )

    def on_prepared(_media: GstRtspServer.RTSPMedia) -> None:
        for index in range(media.n_streams()):
            session = media.get_stream(index).get_rtpsession()
            session.connect("on-ssrc-active", lambda _s, src, i=index: on_active(i, src))

    media.connect("prepared", on_prepared)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/cam")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--bitrate", type=int, default=500, help="kbit/s")
    parser.add_argument("--gop", type=int, default=25)
    parser.add_argument("--pattern", default="ball")
    parser.add_argument(
        "--config-interval",
        type=int,
        default=0,
        help="rtph264pay config-interval: 0 = SPS/PPS only in SDP, -1 = before every IDR",
    )
    parser.add_argument("--audio", choices=["pcmu", "pcma", "none"], default="pcmu")
    parser.add_argument("--tone", type=int, default=440)
    parser.add_argument("--onvif", action="store_true", help="serve the ONVIF backchannel")
    parser.add_argument("--backchannel-out", default="/dev/null")
    parser.add_argument("--backchannel-codec", choices=["pcmu", "pcma"], default="pcmu")
    parser.add_argument("--auth", choices=["none", "basic", "digest"], default="none")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--shared", action="store_true", help="one pipeline for all clients")
    parser.add_argument(
        "--mounts",
        type=int,
        default=0,
        help="serve /cam0 … /cam<N-1> as well, all from the one shared encode (distinct "
        "URLs for distinct cameras, one encoder for the machine)",
    )
    parser.add_argument(
        "--print-reports",
        action="store_true",
        help="print the reception reports GStreamer received from clients (RTCP RR blocks)",
    )
    parser.add_argument(
        "--session-timeout",
        type=int,
        default=0,
        help="seconds a session lives without a keepalive (RTSP request or RTCP); 0: default",
    )
    args = parser.parse_args()

    Gst.init(None)
    if args.onvif:
        server = GstRtspServer.RTSPOnvifServer.new()
        factory = GstRtspServer.RTSPOnvifMediaFactory.new()
        # The ONVIF factory only builds ONVIF media (which carry the backchannel stream).
        factory.set_media_gtype(GstRtspServer.RTSPOnvifMedia.__gtype__)
        if args.backchannel_codec == "pcmu":
            caps = "application/x-rtp,media=audio,payload=0,clock-rate=8000,encoding-name=PCMU"
            depay = "rtppcmudepay"
        else:
            caps = "application/x-rtp,media=audio,payload=8,clock-rate=8000,encoding-name=PCMA"
            depay = "rtppcmadepay"
        factory.set_backchannel_launch(
            f'( capsfilter caps="{caps}" name=depay_backchannel ! {depay} ! '
            f"filesink location={args.backchannel_out} sync=false async=false buffer-mode=unbuffered )"
        )
    else:
        server = GstRtspServer.RTSPServer.new()
        factory = _OneEncodeFactory() if args.mounts else GstRtspServer.RTSPMediaFactory.new()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory.set_launch(_launch(args))
    factory.set_shared(args.shared)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)

    if args.auth != "none":
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", args.user)
        if args.auth == "basic":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role_from_structure(
            Gst.Structure.from_string(
                f"{args.user}, media.factory.access=(boolean)true, "
                "media.factory.construct=(boolean)true"
            )[0]
        )
        factory.set_permissions(permissions)

    if args.session_timeout:
        # The server announces the timeout in its Session header; expired sessions are
        # removed (and their clients disconnected) by a cleanup every second.  RTCP from
        # the client touches the session (gst-rtsp-server's keep-alive on RTCP).
        def on_client(_server: object, client: GstRtspServer.RTSPClient) -> None:
            client.connect(
                "new-session", lambda _c, session: session.set_timeout(args.session_timeout)
            )

        server.connect("client-connected", on_client)
        pool = server.get_session_pool()
        GLib.timeout_add_seconds(1, lambda: pool.cleanup() >= 0)

    if args.print_reports:
        factory.connect("media-configure", lambda _f, media: _watch_reports(media))

    server.get_mount_points().add_factory(args.path, factory)
    for index in range(args.mounts):
        server.get_mount_points().add_factory(f"{args.path}{index}", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        sys.exit(2)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"READY {args.port}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
