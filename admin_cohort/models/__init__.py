from admin_cohort.models.base import BaseModel
from admin_cohort.models.maintenance import MaintenancePhase
from admin_cohort.models.release_note import ReleaseNote
from admin_cohort.models.request_log import RequestLog
from admin_cohort.models.token_revocation import RevokedToken
from admin_cohort.models.user import User

__all__ = ["BaseModel", "MaintenancePhase", "ReleaseNote", "RequestLog", "RevokedToken", "User"]
