"""Active learning with modAL: query strategies and the experiment loop.

Importing this package applies :mod:`foxdog.active.modal_compat` so that modAL
works with numpy 2, scikit-learn >= 1.8 and pandas >= 2.
"""

from foxdog.active import modal_compat

modal_compat.apply()
