"""Every English sentence the analysis writes, one module per topic.

``words`` (numbers and verdicts in words, shared by all), ``verdict`` (the analysis
document's strategy and model sentences), ``answer`` (the Overview's first paragraph)
and ``findings`` (the Insights page's claims). Callers use this package's names:
``from foxdog.analysis import narrative; narrative.answer(doc)``.
"""

from foxdog.analysis.narrative.answer import answer, decision_answer, regime_answer
from foxdog.analysis.narrative.findings import (
    chance_words,
    class_share_words,
    early_late_words,
    full_pool_words,
    plateau_words,
    ranking_words,
    start_worth,
    stop_words,
    trend_words,
)
from foxdog.analysis.narrative.verdict import model_sentence, strategy_sentence
from foxdog.analysis.narrative.words import (
    COSTS,
    NO_DIFFERENCE,
    SAVES,
    condition_words,
    factor_text,
    finite,
    interval_text,
    p_text,
    points_text,
    saving_word,
    slope_words,
)

__all__ = [
    "COSTS",
    "NO_DIFFERENCE",
    "SAVES",
    "answer",
    "chance_words",
    "class_share_words",
    "condition_words",
    "decision_answer",
    "early_late_words",
    "factor_text",
    "finite",
    "full_pool_words",
    "interval_text",
    "model_sentence",
    "p_text",
    "plateau_words",
    "points_text",
    "ranking_words",
    "regime_answer",
    "saving_word",
    "slope_words",
    "start_worth",
    "stop_words",
    "strategy_sentence",
    "trend_words",
]
