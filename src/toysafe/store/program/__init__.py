"""Storage of the marketplace program: tables, feeds, policy versions, the sweep."""

from toysafe.store.program import models as models  # noqa: F401 - registers the tables
from toysafe.store.program import review_models as review_models  # noqa: F401, E402
from toysafe.store.program import validation_models as validation_models  # noqa: F401, E402
