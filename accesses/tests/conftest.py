"""The reference tree of spec 01 §10 and role builders, shared by the access-management tests.

APHP[9999] (level 1)
├── P0[0] ── P3[3], P4[4] ── {P11[11], P12[12]}, P5[5]
├── P1[1] ── P6[6], P7[7]
└── P2[2] ── P8[8], P9[9], P10[10] ── {P13[13], P14[14]}
"""

from __future__ import annotations

import pytest

from accesses.models import Perimeter
from accesses.services.perimeter_tree import compute_ancestry, join_ids, rebuild_closure
from tests.factories import RoleFactory

APHP = 9999
TREE_PARENTS: dict[int, int | None] = {
    APHP: None,
    0: APHP,
    1: APHP,
    2: APHP,
    3: 0,
    4: 0,
    5: 0,
    11: 4,
    12: 4,
    6: 1,
    7: 1,
    8: 2,
    9: 2,
    10: 2,
    13: 10,
    14: 10,
}


def perimeter_name(perimeter_id: int) -> str:
    return "APHP" if perimeter_id == APHP else f"P{perimeter_id}"


def build_tree(parents: dict[int, int | None] = TREE_PARENTS) -> dict[int, Perimeter]:
    """Perimeters with their stored ancestry (as the loader writes it) and the closure table.

    Perimeters that already exist are updated, so a test can grow a tree by building a larger one.
    """
    ancestry = compute_ancestry(parents)
    perimeters = {}
    for node in sorted(parents, key=lambda n: ancestry[n].level):
        chain = (*ancestry[node].ancestor_ids, node)
        perimeters[node], _ = Perimeter.objects.update_or_create(
            id=node,
            defaults={
                "local_id": str(node),
                "name": perimeter_name(node),
                "short_name": perimeter_name(node),
                "source_value": perimeter_name(node),
                "type_source_value": "AP-HP" if parents[node] is None else "Hôpital",
                "parent_id": parents[node],
                "level": ancestry[node].level,
                "above_levels_ids": join_ids(ancestry[node].ancestor_ids),
                "inferior_levels_ids": join_ids(ancestry[node].child_ids),
                "cohort_id": str(1000 + node),
                "cohort_size": "100",
                "full_path": "/".join(perimeter_name(n) for n in chain),
            },
        )
    rebuild_closure()
    return perimeters


@pytest.fixture
def tree(db) -> dict[int, Perimeter]:
    return build_tree()


ROLE_ARCHETYPES: dict[str, dict[str, bool]] = {
    "admin_manager": {
        "right_manage_users": True,
        "right_manage_admin_accesses_same_level": True,
        "right_manage_admin_accesses_inferior_levels": True,
    },
    "admin_manager_same": {"right_manage_users": True, "right_manage_admin_accesses_same_level": True},
    "admin_manager_inf": {"right_manage_users": True, "right_manage_admin_accesses_inferior_levels": True},
    "data_manager": {
        "right_manage_users": True,
        "right_manage_data_accesses_same_level": True,
        "right_manage_data_accesses_inferior_levels": True,
    },
    "data_manager_same": {"right_manage_users": True, "right_manage_data_accesses_same_level": True},
    "data_manager_inf": {"right_manage_users": True, "right_manage_data_accesses_inferior_levels": True},
    "reader_nomi": {"right_read_patient_nominative": True},
    "reader_pseudo": {"right_read_patient_pseudonymized": True},
    "reader_nomi_pseudo": {"right_read_patient_nominative": True, "right_read_patient_pseudonymized": True},
    "reader_nomi_ipp": {"right_read_patient_nominative": True, "right_search_patients_by_ipp": True},
    "reader_nomi_csv": {"right_read_patient_nominative": True, "right_export_csv_xlsx_nominative": True},
    "jupyter_pseudo": {"right_read_patient_pseudonymized": True, "right_export_jupyter_pseudonymized": True},
    "full_access_reader": {
        "right_read_patient_nominative": True,
        "right_read_patient_pseudonymized": True,
        "right_search_patients_by_ipp": True,
        "right_search_opposed_patients": True,
        "right_search_patients_unlimited": True,
    },
}


@pytest.fixture
def roles(db) -> dict[str, object]:
    """One role per archetype of spec 01 §9.5/§10 examples, keyed by archetype name, plus "full_admin"."""
    from tests.factories import full_admin_role

    built = {name: RoleFactory(name=name, **flags) for name, flags in ROLE_ARCHETYPES.items()}
    built["full_admin"] = full_admin_role()
    return built
