"""The report pages' contract: a page's python cells only call ``foxdog.site`` and display.

Every number, threshold, target and file a page shows is decided by the analysis
(``metrics/analysis.json``) and read or shaped by ``foxdog.site``; a ``.qmd`` lays out
prose and the objects those functions return. Checked on the cells' syntax trees.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from foxdog.site.qmd import parse_qmd

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "report").glob("*.qmd"))

# What a cell may import: the site package and IPython's display objects.
ALLOWED_MODULES = ("foxdog.site",)
ALLOWED_DISPLAY = {"HTML", "Markdown", "display"}
# Calls that open or read a file, wherever they come from.
FILE_CALLS = {"open", "read_text", "read_bytes", "load", "read_csv", "read_json", "params"}
# Modules a page must not touch by name (data work belongs to foxdog.site).
FORBIDDEN_NAMES = {"pd", "pandas", "np", "numpy", "yaml", "json", "Path", "pathlib"}


def violations(source: str) -> list[str]:
    """What in one cell's source breaks the contract, as short messages."""
    tree = ast.parse(source)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module == "IPython.display":
                found += [
                    f"from IPython.display import {a.name}"
                    for a in node.names
                    if a.name not in ALLOWED_DISPLAY
                ]
            elif not any(module == m or module.startswith(m + ".") for m in ALLOWED_MODULES):
                found.append(f"from {module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FILE_CALLS:
                found.append(f"reads a file: {name}(...)")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"uses {node.id}")
    return found


def page_violations(page: Path) -> list[str]:
    """Every violation in a page's python cells, with the cell's line."""
    out = []
    for cell in parse_qmd(page).cells:
        if cell.kind == "code":
            out += [f"{page.name}:{cell.line}: {v}" for v in violations(cell.source)]
    return out


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_cells_only_call_the_site_package(page: Path) -> None:
    assert page_violations(page) == []


def test_every_page_is_checked() -> None:
    assert {p.stem for p in PAGES} >= {
        "index",
        "experiments",
        "insights",
        "gallery",
        "dataset",
        "method",
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import pandas as pd\n", "import pandas"),
        ("from foxdog.metrics import METRICS\n", "from foxdog.metrics import ..."),
        ("from foxdog.config import to_dict\n", "from foxdog.config import ..."),
        ("from IPython.display import Image\n", "from IPython.display import Image"),
        ("x = inputs.params()\n", "reads a file: params(...)"),
        ("x = np.load('curated/pool_ids.npy')\n", "reads a file: load(...)"),
        ("x = inputs.read_csv('metrics', 'strategies.csv')\n", "reads a file: read_csv(...)"),
        ("t = table[table['share'] < 0.1 * pd.Series([1])]\n", "uses pd"),
        ("text = open('params.yaml').read()\n", "reads a file: open(...)"),
    ],
)
def test_a_cell_that_does_its_own_work_is_refused(source: str, expected: str) -> None:
    assert expected in violations(source)


def test_a_cell_that_calls_the_site_and_displays_passes() -> None:
    source = (
        "from IPython.display import HTML, Markdown, display\n"
        "from foxdog.site import experiments_page as page\n"
        "display(*page.intro())\n"
    )
    assert violations(source) == []


def test_the_method_page_quotes_the_configuration_the_analysis_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No params.yaml in the project: the settings come from analysis.json ``params``."""
    from foxdog.config import load_params, to_dict
    from foxdog.site import method_page

    recorded = to_dict(load_params(REPO / "params.yaml"))
    recorded["active"]["query_size"] = 37  # differs from params.yaml's value
    recorded["analysis"]["stop_kappa"] = 0.71
    (tmp_path / "metrics").mkdir()
    doc = {"classes": recorded["data"]["classes"], "params": recorded}
    (tmp_path / "metrics" / "analysis.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("FOXDOG_PROJECT", str(tmp_path))

    assert "active.query_size</td><td>37<" in method_page.parameters().data.replace(" ", "")
    assert "picks 37 pool images" in method_page.protocol().data
    assert re.search(r"is at least\s+0\.71 \(the CNN starts", method_page.statistics().data)


def test_a_page_refuses_an_analysis_without_its_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from foxdog.site import method_page

    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "analysis.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("FOXDOG_PROJECT", str(tmp_path))
    with pytest.raises(ValueError, match="metrics/analysis.json: no 'params'"):
        method_page.parameters()
