from __future__ import annotations

from django.db import models
from django.db.models import Q

from admin_cohort.models import BaseModel

RIGHT_FLAGS = (
    "right_full_admin",
    "right_manage_users",
    "right_manage_data_accesses_same_level",
    "right_manage_data_accesses_inferior_levels",
    "right_manage_admin_accesses_same_level",
    "right_manage_admin_accesses_inferior_levels",
    "right_read_patient_nominative",
    "right_read_patient_pseudonymized",
    "right_search_patients_by_ipp",
    "right_search_patients_unlimited",
    "right_search_opposed_patients",
    "right_export_jupyter_nominative",
    "right_export_jupyter_pseudonymized",
    "right_export_csv_xlsx_nominative",
    "right_manage_datalabs",
    "right_read_datalabs",
)


class Role(BaseModel):
    name = models.CharField(max_length=255)
    right_full_admin = models.BooleanField(default=False)
    right_manage_users = models.BooleanField(default=False)
    right_manage_data_accesses_same_level = models.BooleanField(default=False)
    right_manage_data_accesses_inferior_levels = models.BooleanField(default=False)
    right_manage_admin_accesses_same_level = models.BooleanField(default=False)
    right_manage_admin_accesses_inferior_levels = models.BooleanField(default=False)
    right_read_patient_nominative = models.BooleanField(default=False)
    right_read_patient_pseudonymized = models.BooleanField(default=False)
    right_search_patients_by_ipp = models.BooleanField(default=False)
    right_search_patients_unlimited = models.BooleanField(default=False)
    right_search_opposed_patients = models.BooleanField(default=False)
    right_export_jupyter_nominative = models.BooleanField(default=False)
    right_export_jupyter_pseudonymized = models.BooleanField(default=False)
    right_export_csv_xlsx_nominative = models.BooleanField(default=False)
    right_manage_datalabs = models.BooleanField(default=False)
    right_read_datalabs = models.BooleanField(default=False)

    class Meta:
        db_table = "accesses_role"
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(delete_datetime__isnull=True), name="unique_alive_role_name"
            )
        ]

    def __str__(self) -> str:
        return self.name
