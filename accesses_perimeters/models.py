"""Read-only views of the OMOP tables the perimeter sync reads (spec 01 §15); never migrated.

`concept_fhir` is found through the connection's search path (PERIMETERS_SOURCE_DB_SCHEMA); the other tables
live in the `omop` schema whatever the search path (the quoted `omop"."…` table names make Django emit
`"omop"."care_site"`).
"""

from __future__ import annotations

from django.db import models


class ConceptFhir(models.Model):
    source_concept_id = models.BigIntegerField(primary_key=True)
    source_concept_name = models.TextField(null=True)

    class Meta:
        managed = False
        db_table = "concept_fhir"


class CareSite(models.Model):
    care_site_id = models.BigIntegerField(primary_key=True)
    care_site_name = models.TextField(null=True)
    care_site_short_name = models.TextField(null=True)
    care_site_type_source_value = models.TextField(null=True)
    care_site_source_value = models.TextField(null=True)
    delete_datetime = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = 'omop"."care_site'


class FactRelationship(models.Model):
    """`fact_id_1` (a care site) is part of `fact_id_2` when the concepts are those of §15."""

    pk = models.CompositePrimaryKey(
        "domain_concept_id_1", "fact_id_1", "domain_concept_id_2", "fact_id_2", "relationship_concept_id"
    )
    domain_concept_id_1 = models.BigIntegerField()
    fact_id_1 = models.BigIntegerField()
    domain_concept_id_2 = models.BigIntegerField()
    fact_id_2 = models.BigIntegerField()
    relationship_concept_id = models.BigIntegerField()
    delete_datetime = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = 'omop"."fact_relationship'


class OmopList(models.Model):
    """The patient population of a care site (`source__type` = Organization): the perimeter's cohort."""

    id = models.BigIntegerField(primary_key=True)
    size = models.BigIntegerField(null=True, db_column="_size")
    source_reference_id = models.TextField(null=True, db_column="_sourcereferenceid")
    source_type = models.TextField(null=True, db_column="source__type")
    delete_datetime = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = 'omop"."list'
