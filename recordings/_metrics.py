"""Prometheus metrics of recording, read from the recorder and the housekeeper at scrape time.

A custom collector, like the cameras' one: the writers keep plain counters
(:class:`WriterStats`) and nothing in the media path calls a metric.  Counters are per
camera and monotonic across recordings: when a recording ends, the recorder folds its
writer's counters into the camera's total (:func:`fold`), so a scrape sees finished plus
running recordings and a stop never looks like a counter reset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._writer import WriterStats

if TYPE_CHECKING:
    from ._housekeeping import Housekeeper

__all__ = ["CameraStats", "RecordingCollector", "StatsSource", "fold"]


def fold(total: WriterStats, stats: WriterStats) -> None:
    """Add one recording's counters to a running total (in place)."""
    total.frames += stats.frames
    total.segments += stats.segments
    total.bytes += stats.bytes
    total.gaps += stats.gaps
    total.backpressure += stats.backpressure
    total.frames_lost += stats.frames_lost


@dataclass(frozen=True, slots=True)
class CameraStats:
    """A camera's writer counters, finished plus running recordings, and whether one runs."""

    stats: WriterStats
    recording: bool
    queued_frames: int = 0  # taken from the camera, not yet on disk
    queued_bytes: int = 0


class StatsSource(Protocol):
    """What the collector reads: the recorder's counters per camera id."""

    def camera_stats(self) -> Mapping[str, CameraStats]: ...


class RecordingCollector(Collector):
    """Register on the app's registry: ``registry.register(RecordingCollector(rec, hk))``."""

    def __init__(self, source: StatsSource, housekeeper: Housekeeper | None = None) -> None:
        self._source = source
        self._housekeeper = housekeeper

    def collect(self) -> Iterator[Metric]:
        labels = ["camera"]
        active = GaugeMetricFamily(
            "gateway_recording_active", "1 while the camera is being recorded", labels=labels
        )
        counters = {
            "bytes": CounterMetricFamily(
                "gateway_recording_bytes", "segment bytes written to disk", labels=labels
            ),
            "segments": CounterMetricFamily(
                "gateway_recording_segments", "segments committed (synced, hashed)", labels=labels
            ),
            "backpressure": CounterMetricFamily(
                "gateway_recording_backpressure",
                "times the disk did not keep up with the camera",
                labels=labels,
            ),
            "frames_lost": CounterMetricFamily(
                "gateway_recording_frames_lost",
                "frames dropped while the recorder was behind (each is in a gap record)",
                labels=labels,
            ),
            "gaps": CounterMetricFamily(
                "gateway_recording_gaps", "gap records written (outages, drops)", labels=labels
            ),
        }
        totals = self._source.camera_stats()
        for camera in sorted(totals):
            stats = totals[camera]
            active.add_metric([camera], 1.0 if stats.recording else 0.0)
            for name, family in counters.items():
                family.add_metric([camera], float(getattr(stats.stats, name)))
        queued_frames = GaugeMetricFamily(
            "gateway_recording_queued_frames",
            "frames taken from the camera and not yet written (queue and batches)",
            labels=labels,
        )
        queued_bytes = GaugeMetricFamily(
            "gateway_recording_queued_bytes", "bytes of those frames", labels=labels
        )
        for camera in sorted(totals):
            queued_frames.add_metric([camera], float(totals[camera].queued_frames))
            queued_bytes.add_metric([camera], float(totals[camera].queued_bytes))
        yield active
        yield from counters.values()
        yield queued_frames
        yield queued_bytes
        housekeeper = self._housekeeper
        if housekeeper is None:
            return
        alarm = GaugeMetricFamily(
            "gateway_recording_low_disk_alarm", "1 while the low-disk guard's alarm stands"
        )
        alarm.add_metric([], 1.0 if housekeeper.alarm else 0.0)
        yield alarm
        if housekeeper.disk is not None:
            total, free = housekeeper.disk
            # Measured by the guard's last round (in a thread), never by the scrape itself.
            yield GaugeMetricFamily(
                "gateway_recording_disk_free_bytes",
                "free bytes of the recordings' file system at the last guard round",
                value=float(free),
            )
            yield GaugeMetricFamily(
                "gateway_recording_disk_total_bytes",
                "size of the recordings' file system",
                value=float(total),
            )
