"""Stage ``report``: report/*.qmd -> _site/ (Quarto if installed, else Jupyter)."""

from __future__ import annotations

from pathlib import Path


def run(project_dir: Path = Path("."), out: Path = Path("_site"), engine: str = "auto") -> Path:
    """Render the site; return its index page."""
    from foxdog.analysis.validate import check_report_inputs
    from foxdog.site.render import render_site

    check_report_inputs(Path(project_dir))  # an arm the analysis lists must have results
    index = render_site(Path(project_dir), Path(out), engine=engine)
    print(f"report rendered: {index}")
    return index
