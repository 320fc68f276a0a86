from accesses.models.access import MANUAL, ORBIS, Access, Profile
from accesses.models.perimeter import Perimeter, PerimeterClosure
from accesses.models.right import Right
from accesses.models.role import RIGHT_FLAGS, Role

__all__ = ["MANUAL", "ORBIS", "RIGHT_FLAGS", "Access", "Perimeter", "PerimeterClosure", "Profile", "Right", "Role"]
