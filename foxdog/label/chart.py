"""The live estimate's curve against labels, as a Vega-Lite spec drawn with Altair."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from foxdog.label.estimate import Estimate


def curve_spec(points: Sequence[Estimate], confidence: float) -> dict[str, Any]:
    """Estimate (line, points) and its interval (band) against labels given."""
    frame = pd.DataFrame(
        [
            {
                "labels": p.labels,
                "accuracy": p.accuracy,
                "low": p.low,
                "high": p.high,
                "checks": p.n,
            }
            for p in points
        ],
        columns=["labels", "accuracy", "low", "high", "checks"],
    )
    base = alt.Chart(frame).encode(x=alt.X("labels:Q", title="labels given"))
    band = base.mark_area(opacity=0.25, color="#4c78a8").encode(
        y=alt.Y("low:Q", title="estimated accuracy", scale=alt.Scale(domain=[0, 1])),
        y2="high:Q",
    )
    line = base.mark_line(point=True, color="#4c78a8").encode(
        y="accuracy:Q",
        tooltip=[
            alt.Tooltip("labels:Q"),
            alt.Tooltip("accuracy:Q", format=".1%"),
            alt.Tooltip("low:Q", format=".1%", title=f"{confidence:.0%} low"),
            alt.Tooltip("high:Q", format=".1%", title=f"{confidence:.0%} high"),
            alt.Tooltip("checks:Q", title="random checks"),
        ],
    )
    chart = (band + line).properties(width="container", height=160)
    return chart.to_dict()
