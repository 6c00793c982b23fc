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
        fps = GaugeMetricFamily("gateway_camera_fps", "video frames per second", labels=labels)
        bitrate = GaugeMetricFamily(
            "gateway_camera_bitrate_bits", "received bits per second, all tracks", labels=labels
        )
        subscribers = GaugeMetricFamily(
            "gateway_camera_subscribers", "consumers of the camera's stream hub", labels=labels
        )
        picture = GaugeMetricFamily(
            "gateway_camera_picture_problem",
            "1 when the last picture check found a problem (black, frozen, covered)",
            labels=["camera", "problem"],
        )
        frames = CounterMetricFamily(
            "gateway_camera_frames", "frames received since start", labels=labels
        )
        gaps = CounterMetricFamily(
            "gateway_camera_gaps", "RTP sequence gaps (lost packets)", labels=labels
        )
        cutbacks = CounterMetricFamily(
            "gateway_camera_cutbacks",
            "times a slow consumer was cut back to the next keyframe",
            labels=labels,
        )
        for state in self._manager.states():
            camera = [str(state.camera_id)]
            stats = state.stats
            online.add_metric(camera, 1.0 if state.online else 0.0)
            talk.add_metric(camera, 1.0 if state.online and state.talk else 0.0)
            fps.add_metric(camera, stats.fps)
            bitrate.add_metric(camera, stats.bitrate)
            subscribers.add_metric(camera, stats.subscribers)
            frames.add_metric(camera, stats.frames)
            gaps.add_metric(camera, stats.gaps)
            cutbacks.add_metric(camera, stats.cutbacks)
            if state.picture is not None:
                for problem in ("black", "frozen", "covered"):
                    value = 1.0 if state.picture.problem == problem else 0.0
                    picture.add_metric([*camera, problem], value)
        yield from (online, talk, fps, bitrate, subscribers, picture, frames, gaps, cutbacks)
