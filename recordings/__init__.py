"""Recordings tied to cases: tamper-evident fMP4 segments (SHA-256 chain, Ed25519-signed
manifest), crash salvage and reindex, retention with legal hold, the low-disk guard,
playback and evidence export."""

from ._archive import RecordingArchive
from ._catalog import MAX_PAGE
from ._errors import (
    ExportError,
    IntegrityError,
    InvalidPolicyError,
    InvalidRangeError,
    LegalHoldError,
    RecordingConflictError,
    RecordingError,
    RecordingNotFoundError,
    StorageFullError,
)
from ._export import EvidenceExporter, ExportRange
from ._housekeeping import Housekeeper, HousekeepingSettings
from ._index import ReindexReport
from ._integrity import Problem, VerifyReport, verify_recording
from ._manifest import Gap, Manifest, SegmentEntry, TalkSpan
from ._metrics import RecordingCollector
from ._models import EvidenceExportRow, RecordingRow, RecordingSegmentRow, RoomPolicyRow
from ._naming import recording_dir, valid_recording_id
from ._package import PackageReport, verify_package
from ._policy import (
    ROOM_MODES,
    CaseFacts,
    Decision,
    DiskPlan,
    DiskRules,
    RecordingFacts,
    RecordingMode,
    RetentionRules,
    RoomPolicy,
    WeeklyWindow,
)
from ._recorder import Recorder, RunningRecording, ServiceSettings
from ._recovery import reindex, salvage_directory
from ._room_policies import policy_windows
from ._service import RecordingService
from ._signing import SigningKey, load_public_key
from ._store import RecordingFiles
from ._thumbnail import thumbnail
from ._views import RecordingPage, TimelineSpan, recording_json
from ._writer import RecordingWriter, WriterEvent, WriterStats

__all__ = [
    "MAX_PAGE",
    "ROOM_MODES",
    "CaseFacts",
    "Decision",
    "DiskPlan",
    "DiskRules",
    "EvidenceExportRow",
    "EvidenceExporter",
    "ExportError",
    "ExportRange",
    "Gap",
    "Housekeeper",
    "HousekeepingSettings",
    "IntegrityError",
    "InvalidPolicyError",
    "InvalidRangeError",
    "LegalHoldError",
    "Manifest",
    "PackageReport",
    "Problem",
    "Recorder",
    "RecordingArchive",
    "RecordingCollector",
    "RecordingConflictError",
    "RecordingError",
    "RecordingFacts",
    "RecordingFiles",
    "RecordingMode",
    "RecordingNotFoundError",
    "RecordingPage",
    "RecordingRow",
    "RecordingSegmentRow",
    "RecordingService",
    "RecordingWriter",
    "ReindexReport",
    "RetentionRules",
    "RoomPolicy",
    "RoomPolicyRow",
    "RunningRecording",
    "SegmentEntry",
    "ServiceSettings",
    "SigningKey",
    "StorageFullError",
    "TalkSpan",
    "TimelineSpan",
    "VerifyReport",
    "WeeklyWindow",
    "WriterEvent",
    "WriterStats",
    "load_public_key",
    "policy_windows",
    "recording_dir",
    "recording_json",
    "reindex",
    "salvage_directory",
    "thumbnail",
    "valid_recording_id",
    "verify_package",
    "verify_recording",
]
