"""The format version chain, oldest first (spec 02 §5.4). A new version is one more `VersionStep` appended here."""

from cohort.query_versions.steps.v1_3 import V1_3_0
from cohort.query_versions.steps.v1_4 import V1_4_0, V1_4_1, V1_4_2, V1_4_3, V1_4_4, V1_4_5
from cohort.query_versions.steps.v1_5 import V1_5_0, V1_5_1
from cohort.query_versions.steps.v1_6 import V1_6_0, V1_6_1

STEPS = (V1_3_0, V1_4_0, V1_4_1, V1_4_2, V1_4_3, V1_4_4, V1_4_5, V1_5_0, V1_5_1, V1_6_0, V1_6_1)
LATEST_VERSION = STEPS[-1].target
