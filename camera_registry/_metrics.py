"""Prometheus metrics of the running cameras, read from the manager at scrape time.

A custom collector rather than gauges updated in the media path: the hot loop stays free
of metric calls, and a removed camera simply stops appearing.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from camera_registry._manager import CameraManager

__all__ = ["CameraCollector"]


class CameraCollector(Collector):
    """Register on the app's registry: ``registry.register(CameraCollector(manager))``."""

    def __init__(self, manager: CameraManager) -> None:
        self._manager = manager

    def collect(self) -> Iterator[Metric]:
        labels = ["camera"]
        online = GaugeMetricFamily(
            "gateway_camera_online", "1 when the camera's RTSP session is up", labels=labels
        )
        talk = GaugeMetricFamily(
            "gateway_camera_talk", "1 when the camera's backchannel is usable", labels=labels
        )
        fps = GaugeMetricFamily(
            "gateway_camera_fps", "video frames per second over the last 5 s", labels=labels
        )
        bitrate = GaugeMetricFamily(
            "gateway_camera_bitrate_bits",
            "received bits per second, all tracks, over the last 5 s",
            labels=labels,
        )
        subscribers = GaugeMetricFamily(
            "gateway_camera_subscribers", "consumers of the camera's stream hub", labels=labels
        )
        picture = GaugeMetricFamily(
            "gateway_camera_picture_problem",
            "1 when the last picture check found a problem (black, frozen, covered)",
            labels=["camera", "problem"],
        )
        counters = {
            name: CounterMetricFamily(f"gateway_camera_{name}", text, labels=labels)
            for name, text in (
                ("frames", "video frames received since the camera was added"),
                ("audio_frames", "audio frames received"),
                ("bytes", "payload bytes received, all tracks"),
                ("late_frames", "video frames more than 0.25 s behind the camera's timing"),
                ("packets", "RTP packets received, all tracks"),
                ("packets_lost", "RTP packets missing, from sequence numbers"),
                ("gaps", "loss events: one or more RTP packets missing at once"),
                ("broken_frames", "frames discarded as damaged, undecodable or oversized"),
                ("reconnects", "RTSP sessions started again after the first"),
                ("cutbacks", "times a slow consumer was cut back to the next keyframe"),
            )
        }
        for state in self._manager.states():
            camera = [str(state.camera_id)]
            stats = state.stats
            online.add_metric(camera, 1.0 if state.online else 0.0)
            talk.add_metric(camera, 1.0 if state.online and state.talk else 0.0)
            fps.add_metric(camera, stats.fps)
            bitrate.add_metric(camera, stats.bitrate)
            subscribers.add_metric(camera, stats.subscribers)
            ingest = state.ingest
            for name, count in (
                ("frames", stats.frames),
                ("audio_frames", stats.audio_frames),
                ("bytes", stats.bytes),
                ("late_frames", stats.late_frames),
                ("packets", ingest.packets),
                ("packets_lost", ingest.packets_lost),
                ("gaps", ingest.gaps),
                ("broken_frames", ingest.broken_frames),
                ("reconnects", ingest.reconnects),
                ("cutbacks", stats.cutbacks),
            ):
                counters[name].add_metric(camera, count)
            if state.picture is not None:
                for problem in ("black", "frozen", "covered"):
                    value = 1.0 if state.picture.problem == problem else 0.0
                    picture.add_metric([*camera, problem], value)
        yield from (online, talk, fps, bitrate, subscribers, picture, *counters.values())
