from accesses.models.access import MANUAL, ORBIS, Access, Profile
from accesses.models.expiry_alert import ExpiryAlertSent
from accesses.models.perimeter import Perimeter, PerimeterClosure
from accesses.models.right import Right
from accesses.models.role import RIGHT_FLAGS, Role

__all__ = [
    "MANUAL",
    "ORBIS",
    "RIGHT_FLAGS",
    "Access",
    "ExpiryAlertSent",
    "Perimeter",
    "PerimeterClosure",
    "Profile",
    "Right",
    "Role",
]
