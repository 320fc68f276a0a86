from cohort.models.base import CohortBaseModel, OwnedModel
from cohort.models.jobs import ACTIVE_STATUSES, FINAL_STATUSES, UNSUBMITTED_STATUSES, JobModel, JobStatus
from cohort.models.measures import CohortResult, DatedMeasure, MeasureMode
from cohort.models.studies import (
    FeasibilityStudy,
    FhirFilter,
    FhirFilterPatch,
    RefreshFrequency,
    RequestRefreshSchedule,
)
from cohort.models.workspace import (
    SHARED_FOLDER_NAME,
    Folder,
    Request,
    RequestQuerySnapshot,
    RequestQuerySnapshotPatch,
)

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "SHARED_FOLDER_NAME",
    "UNSUBMITTED_STATUSES",
    "CohortBaseModel",
    "CohortResult",
    "DatedMeasure",
    "FeasibilityStudy",
    "FhirFilter",
    "FhirFilterPatch",
    "Folder",
    "JobModel",
    "JobStatus",
    "MeasureMode",
    "OwnedModel",
    "RefreshFrequency",
    "Request",
    "RequestQuerySnapshot",
    "RequestQuerySnapshotPatch",
    "RequestRefreshSchedule",
]
