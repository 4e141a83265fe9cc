"""Which numbers of a saved run state's round record are not finite where one is required.

A state file is JSON, and Python's JSON reads ``NaN`` and ``Infinity``: a state with
``"accuracy": NaN`` passed the loop's "is a number" check and the NaN reached
``rounds.csv`` (issue 19). Only two keys may be NaN in a sound state: the stop-set
numbers, absent without a validation split (``kappa_stop`` also at round 0, with no
previous round to agree with); ``query_seconds`` is NaN at round 0, before any query.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: May be NaN in any round (no validation split; no previous round for kappa).
MAY_BE_NAN = frozenset({"val_accuracy", "kappa_stop"})


def nonfinite_keys(record: Mapping[str, Any], round_index: int) -> list[str]:
    """Keys of one round record that are infinite, or NaN where a number is required."""
    may_be_nan = MAY_BE_NAN | ({"query_seconds"} if round_index == 0 else frozenset())
    bad = []
    for key, value in record.items():
        if not isinstance(value, float) or math.isfinite(value):
            continue
        if math.isinf(value) or key not in may_be_nan:
            bad.append(key)
    return bad
