"""Operations on the pod's practices: needs, agreements, decisions, capacity,
mobilizing and allies, teams, stewards, feedback; the inbox, the pod's settings and search.

Importing this module registers them all; each practice has its own module.
"""

from podsync.api import (  # noqa: F401 - imported to register their operations
    ops_agreements, ops_archive, ops_capacity, ops_decisions, ops_export, ops_feedback,
    ops_inbox, ops_mobilizing, ops_needs, ops_show, ops_stewards, ops_teams,
)
