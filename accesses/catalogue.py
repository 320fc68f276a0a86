"""The 16 rights: their catalogue rows (spec 01 §9.1), the sets the rights rules use, and role predicates.

Predicates take anything carrying the flags as attributes (a Role, or a role being created), so that the
same rules judge stored roles and request bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

from accesses.models.role import RIGHT_FLAGS
from admin_cohort.rights import ACCESS_MANAGEMENT_RIGHTS, FULL_ADMIN, MANAGE_USERS


@dataclass(frozen=True)
class RightRow:
    name: str
    label: str
    category: str
    is_global: bool = False
    allow_edit_accesses_on_same_level: bool = False
    allow_edit_accesses_on_inf_levels: bool = False
    impact_inferior_levels: bool = False
    depends_on: str | None = None


RIGHTS: tuple[RightRow, ...] = (
    RightRow("right_full_admin", "Administrateur", "Administration", is_global=True),
    RightRow("right_manage_users", "Gérer la liste des utilisateurs", "Utilisateurs", is_global=True),
    RightRow(
        "right_manage_data_accesses_same_level",
        "Gérer les accès aux données patient d'un périmètre exclusivement",
        "Gestion des Accès Données",
        allow_edit_accesses_on_same_level=True,
    ),
    RightRow(
        "right_manage_data_accesses_inferior_levels",
        "Gérer les accès aux données patient des sous-périmètres exclusivement",
        "Gestion des Accès Données",
        allow_edit_accesses_on_inf_levels=True,
        impact_inferior_levels=True,
    ),
    RightRow(
        "right_manage_admin_accesses_same_level",
        "Gérer les accès administrateurs d'un périmètre exclusivement",
        "Gestion des Accès Administrateurs",
        allow_edit_accesses_on_same_level=True,
    ),
    RightRow(
        "right_manage_admin_accesses_inferior_levels",
        "Gérer les accès administrateurs des sous-périmètres exclusivement",
        "Gestion des Accès Administrateurs",
        allow_edit_accesses_on_inf_levels=True,
        impact_inferior_levels=True,
    ),
    RightRow(
        "right_read_patient_nominative",
        "Lecture de données patient nominatives",
        "Lecture de Données Patient",
        impact_inferior_levels=True,
    ),
    RightRow(
        "right_read_patient_pseudonymized",
        "Lecture de données patient pseudonymisées",
        "Lecture de Données Patient",
        impact_inferior_levels=True,
    ),
    RightRow("right_search_patients_by_ipp", "Chercher les patients par IPP", "Recherche de Patients", is_global=True),
    RightRow(
        "right_search_patients_unlimited",
        "Chercher les patients sans limite de périmètre (PP)",
        "Recherche de Patients",
        is_global=True,
    ),
    RightRow(
        "right_search_opposed_patients",
        "Chercher les patients opposés à l'utilisation de leurs données pour la recherche",
        "Recherche de Patients",
        is_global=True,
    ),
    RightRow(
        "right_export_jupyter_nominative",
        "Exporter ses cohortes de patients sous forme nominative vers un environnement Jupyter",
        "Exports Jupyter",
        is_global=True,
    ),
    RightRow(
        "right_export_jupyter_pseudonymized",
        "Exporter ses cohortes de patients sous forme pseudonymisée vers un environnement Jupyter",
        "Exports Jupyter",
        is_global=True,
    ),
    RightRow(
        "right_export_csv_xlsx_nominative",
        "Exporter ses cohortes de patients sous forme nominative en format CSV-Excel",
        "Exports CSV-Excel",
        is_global=True,
    ),
    RightRow("right_manage_datalabs", "Gérer la liste des datalabs", "Datalabs", is_global=True),
    RightRow(
        "right_read_datalabs",
        "Consulter la liste des datalabs",
        "Datalabs",
        is_global=True,
        depends_on="right_manage_datalabs",
    ),
)
assert {row.name for row in RIGHTS} == set(RIGHT_FLAGS)

READ_NOMINATIVE = "right_read_patient_nominative"
READ_PSEUDONYMIZED = "right_read_patient_pseudonymized"
SEARCH_BY_IPP = "right_search_patients_by_ipp"
SEARCH_UNLIMITED = "right_search_patients_unlimited"
SEARCH_OPPOSED = "right_search_opposed_patients"
MANAGE_ADMIN_SAME = "right_manage_admin_accesses_same_level"
MANAGE_ADMIN_INF = "right_manage_admin_accesses_inferior_levels"
MANAGE_DATA_SAME = "right_manage_data_accesses_same_level"
MANAGE_DATA_INF = "right_manage_data_accesses_inferior_levels"

SAME_LEVEL = tuple(row.name for row in RIGHTS if row.allow_edit_accesses_on_same_level)
INFERIOR_LEVELS = tuple(row.name for row in RIGHTS if row.allow_edit_accesses_on_inf_levels)
IMPACT_INFERIOR_LEVELS = tuple(row.name for row in RIGHTS if row.impact_inferior_levels)
ACCESS_MANAGEMENT = (*SAME_LEVEL, *INFERIOR_LEVELS)
assert set(ACCESS_MANAGEMENT) == set(ACCESS_MANAGEMENT_RIGHTS)  # the core names them for its own checks
READING = (READ_NOMINATIVE, READ_PSEUDONYMIZED)
# Held anywhere, they apply everywhere (spec 01 §10.4 step 6).
GLOBAL_DATA_RIGHTS = (
    SEARCH_BY_IPP,
    SEARCH_OPPOSED,
    "right_export_csv_xlsx_nominative",
    "right_export_jupyter_nominative",
    "right_export_jupyter_pseudonymized",
)
DATA_RIGHTS = (*READING, *GLOBAL_DATA_RIGHTS)

_REQUIRES_FULL_ADMIN = (FULL_ADMIN, SEARCH_UNLIMITED, MANAGE_ADMIN_SAME, MANAGE_ADMIN_INF)
_REQUIRES_ADMIN_MANAGEMENT = (
    MANAGE_USERS,
    MANAGE_DATA_SAME,
    MANAGE_DATA_INF,
    "right_manage_datalabs",
    "right_read_datalabs",
)
_REQUIRES_DATA_MANAGEMENT = DATA_RIGHTS
_GLOBAL_MANAGEMENT = (FULL_ADMIN, MANAGE_USERS, "right_manage_datalabs")


def holds(role, flags) -> bool:
    return any(getattr(role, flag, False) for flag in flags)


def requires_full_admin(role) -> bool:
    return holds(role, _REQUIRES_FULL_ADMIN)


def requires_admin_management(role) -> bool:
    return holds(role, _REQUIRES_ADMIN_MANAGEMENT)


def requires_data_management(role) -> bool:
    return holds(role, _REQUIRES_DATA_MANAGEMENT)


def has_global_management(role) -> bool:
    return holds(role, _GLOBAL_MANAGEMENT)


def has_level_management(role) -> bool:
    return holds(role, ACCESS_MANAGEMENT)


def allows_managing_accesses(role) -> bool:
    return holds(role, (FULL_ADMIN, *ACCESS_MANAGEMENT))


# ---------------------------------------------------------------------------------------------- help text
_HELP_SENTENCES = {
    FULL_ADMIN: "Super user",
    MANAGE_USERS: "Gérer la liste des utilisateurs/profils",
    READ_NOMINATIVE: "Lire les données patient sous forme nominatives sur son périmètre et ses sous-périmètres",
    READ_PSEUDONYMIZED: "Lire les données patient sous forme pseudonymisée sur son périmètre et ses sous-périmètres",
    SEARCH_BY_IPP: "Utiliser une liste d'IPP comme critère d'une requête Cohort.",
    # The reference emits a null here; the front-ends display every item, so we give it a sentence.
    SEARCH_UNLIMITED: "Chercher les patients sans limite de périmètre",
    SEARCH_OPPOSED: "Détermine le droit de chercher les patients opposés à l'utilisation de leurs données "
    "pour la recherche",
    "right_export_jupyter_nominative": "Exporter ses cohortes de patients sous forme nominative vers un "
    "environnement Jupyter.",
    "right_export_jupyter_pseudonymized": "Exporter ses cohortes de patients sous forme pseudonymisée vers un "
    "environnement Jupyter.",
    "right_export_csv_xlsx_nominative": "Demander à exporter ses cohortes de patients sous forme nominative en "
    "format CSV/Excel.",
    "right_manage_datalabs": "Gérer les environnements de travail",
    "right_read_datalabs": "Consulter la liste des environnements de travail",
}
_LEVEL_SUFFIXES = ("same_level", "inferior_levels", "above_levels")


def _level_sentence(root: str, same: bool, inferior: bool) -> str | None:
    if same and inferior:
        return f"{root} sur un périmètre et ses sous-périmètres"
    if same:
        return f"{root} sur un périmètre exclusivement"
    if inferior:
        return f"{root} sur les sous-périmètres exclusivement"
    return None


def help_text(role) -> list[str]:
    """French sentences describing what the role allows (spec 01 §9.4)."""
    sentences = [
        _HELP_SENTENCES[row.name]
        for row in RIGHTS
        if not row.name.endswith(_LEVEL_SUFFIXES) and getattr(role, row.name, False)
    ]
    for root, same, inferior in (
        ("Gérer les accès des administrateurs", MANAGE_ADMIN_SAME, MANAGE_ADMIN_INF),
        ("Gérer les accès aux données patients", MANAGE_DATA_SAME, MANAGE_DATA_INF),
    ):
        sentence = _level_sentence(root, getattr(role, same, False), getattr(role, inferior, False))
        if sentence:
            sentences.append(sentence)
    return sentences


# ------------------------------------------------------------------------------------------ consistency
def consistency_error(role) -> str | None:
    """The first rule of spec 01 §9.3 the flags break, as the message the Portail shows; None when consistent."""
    if getattr(role, FULL_ADMIN, False) and not all(getattr(role, row.name, False) for row in RIGHTS):
        return "Cannot create a Full Admin role with falsy rights"
    if (
        getattr(role, READ_PSEUDONYMIZED, False)
        and not getattr(role, READ_NOMINATIVE, False)
        and holds(role, ("right_export_csv_xlsx_nominative", "right_export_jupyter_nominative"))
    ):
        return "Cannot create a role allowing to read patient data in pseudo and export nominative data"
    if getattr(role, SEARCH_BY_IPP, False) and not getattr(role, READ_NOMINATIVE, False):
        return "Cannot create a role allowing to search by IPP but not read patient data in nominative mode"
    if holds(role, ACCESS_MANAGEMENT) and not getattr(role, MANAGE_USERS, False):
        return "Cannot create a role allowing to manage accesses but not users"
    return None
