"""Make modAL 0.4.2.1 work with numpy 2, scikit-learn >= 1.8 and pandas >= 2.

modAL 0.4.2.1 (2023) is the latest release. With today's libraries it breaks in
three places, and no set of pins fixes all three (jax needs numpy >= 2):

1. ``modAL.models.learners`` calls ``check_X_y(force_all_finite=...)``; scikit-learn
   1.8 removed that keyword (renamed ``ensure_all_finite``) -> TypeError on every
   ``fit``/``teach``. modAL issue #196. Fixed here by wrapping the ``check_X_y``
   that module imported.
2. ``modAL.expected_error`` annotates with ``np.float``, removed in numpy 1.24 ->
   AttributeError when that module is imported. Fixed by aliasing ``np.float``
   to ``float`` before modAL is imported (modAL issues #170/#181).
3. ``modAL.utils.data.data_vstack`` stacks DataFrames with ``DataFrame.append``,
   removed in pandas 2 (modAL issue #173). Replaced by a ``pd.concat`` version in
   every module that imported it by name.

``apply()`` is idempotent and must run before anything imports modAL; importing
:mod:`foxdog.active` does it. Delete this module once a modAL release after
0.4.2.1 ships these fixes (check: ``tests/test_modal_compat.py`` without apply()).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

_APPLIED = False
# Modules that did `from modAL.utils.data import data_vstack` and so hold their own reference.
_VSTACK_USERS = (
    "modAL.utils",
    "modAL.utils.data",
    "modAL.models.learners",
    "modAL.batch",
    "modAL.expected_error",
)


def data_vstack(blocks: Sequence[Any]) -> Any:
    """modAL's ``data_vstack`` with ``pd.concat`` in place of the removed ``DataFrame.append``."""
    if any(sp.issparse(b) for b in blocks):
        return sp.vstack(blocks)
    if isinstance(blocks[0], pd.DataFrame):
        return pd.concat(blocks)
    if isinstance(blocks[0], np.ndarray):
        return np.concatenate(blocks)
    if isinstance(blocks[0], list):
        return np.concatenate(blocks).tolist()
    raise TypeError(f"{type(blocks[0])} datatype is not supported")


def _wrap_check_X_y(check_X_y: Any) -> Any:
    if "force_all_finite" in inspect.signature(check_X_y).parameters:
        return check_X_y  # an older scikit-learn still takes modAL's keyword

    def compat_check_X_y(*args: Any, force_all_finite: Any = True, **kwargs: Any) -> Any:
        kwargs.setdefault("ensure_all_finite", force_all_finite)
        return check_X_y(*args, **kwargs)

    compat_check_X_y.__wrapped__ = check_X_y  # type: ignore[attr-defined]
    return compat_check_X_y


def apply() -> None:
    """Patch modAL in place (once). Safe to call many times."""
    global _APPLIED
    if _APPLIED:
        return
    if not hasattr(np, "float"):
        np.float = float  # type: ignore[attr-defined]  # noqa: NPY001 - the alias is the fix
    learners = importlib.import_module("modAL.models.learners")
    learners.check_X_y = _wrap_check_X_y(learners.check_X_y)
    for name in _VSTACK_USERS:
        module = importlib.import_module(name)
        module.data_vstack = data_vstack
    _APPLIED = True
