"""The site's sources: ``_quarto.yml`` (pages, navigation) and each ``.qmd`` parsed into cells.

A page is YAML front matter, markdown, and ```` ```{python} ```` cells whose leading
``#| key: value`` lines are Quarto execution options; :mod:`foxdog.site.render` runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from foxdog.errors import RenderError

QUARTO_CONFIG = "_quarto.yml"
PAGES_DIR = "report"
_CELL_OPEN = re.compile(r"^(?P<fence>`{3,})\s*\{python(?P<attrs>[^}]*)\}\s*$")
_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})")
_OPTION = re.compile(r"^#\|\s?(?P<text>.*)$")


@dataclass(frozen=True)
class NavItem:
    """One link of the site's navigation bar."""

    text: str
    href: str  # output page, e.g. "experiments.html"


@dataclass
class Cell:
    """One block of a parsed ``.qmd``: markdown text or a python cell with its options."""

    kind: str  # "markdown" | "code"
    source: str
    options: dict[str, Any] = field(default_factory=dict)
    line: int = 0  # 1-based line of the cell's opening fence in the .qmd (code cells)


@dataclass
class Page:
    """A parsed ``.qmd``: front matter and cells."""

    path: Path
    meta: dict[str, Any]
    cells: list[Cell]

    @property
    def output_name(self) -> str:
        return self.path.stem + ".html"

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.path.stem))


# --------------------------------------------------------------------------- config


def load_site_config(project_dir: Path) -> dict[str, Any]:
    """Read ``_quarto.yml``; raise :class:`RenderError` naming the file if it is unusable."""
    path = project_dir / QUARTO_CONFIG
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise RenderError(f"{path}: not found (run from the project root)") from None
    except yaml.YAMLError as err:
        raise RenderError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(config, dict):
        raise RenderError(f"{path}: top level must be a mapping")
    return config


def page_sources(project_dir: Path, config: dict[str, Any]) -> list[Path]:
    """The ``.qmd`` pages to render: the navbar's pages in order, then any others in report/."""
    pages_dir = project_dir / PAGES_DIR
    ordered: list[Path] = []
    for item in _navbar_items(config):
        href = item.get("href", "")
        if href.endswith(".qmd"):
            path = (project_dir / href).resolve()
            if not path.is_file():
                raise RenderError(f"{QUARTO_CONFIG}: navbar page {href} not found")
            ordered.append(path)
    for path in sorted(pages_dir.glob("*.qmd")):
        if path.resolve() not in ordered and not path.name.startswith("_"):
            ordered.append(path.resolve())
    if not ordered:
        raise RenderError(f"{pages_dir}: no .qmd pages to render")
    stems = [p.stem for p in ordered]
    if len(set(stems)) != len(stems):
        raise RenderError(f"{QUARTO_CONFIG}: two pages share an output name: {stems}")
    return ordered


def _navbar_items(config: dict[str, Any]) -> list[dict[str, str]]:
    navbar = (config.get("website") or {}).get("navbar") or {}
    items = []
    for side in ("left", "right"):
        for item in navbar.get(side) or []:
            if isinstance(item, str):
                item = {"href": item}
            items.append(item)
    return items


def navigation(config: dict[str, Any], pages: list[Page]) -> list[NavItem]:
    """Navbar entries (text, output href) from ``_quarto.yml``, titles from the pages."""
    titles = {p.path.stem: p.title for p in pages}
    nav = []
    for item in _navbar_items(config):
        href = item.get("href", "")
        stem = Path(href).stem
        if href.endswith(".qmd"):
            nav.append(
                NavItem(text=str(item.get("text", titles.get(stem, stem))), href=stem + ".html")
            )
        elif href:
            nav.append(NavItem(text=str(item.get("text", href)), href=href))
    return nav


# --------------------------------------------------------------------------- parsing


def parse_qmd(path: Path) -> Page:
    """Split a Quarto page into front matter, markdown blocks and python cells."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    meta: dict[str, Any] = {}
    start = 0
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
        except StopIteration:
            raise RenderError(f"{path}: front matter opened with --- is never closed") from None
        try:
            meta = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as err:
            raise RenderError(f"{path}: front matter is not valid YAML ({err})") from None
        start = end + 1

    cells: list[Cell] = []
    markdown: list[str] = []
    i = start
    md_fence: str | None = None  # inside a plain markdown code block (```bash ...)

    def flush_markdown() -> None:
        block = "\n".join(markdown).strip("\n")
        if block.strip():
            cells.append(Cell("markdown", block))
        markdown.clear()

    while i < len(lines):
        line = lines[i]
        opened = _CELL_OPEN.match(line) if md_fence is None else None
        if opened:
            fence = opened.group("fence")
            open_line = i + 1
            body: list[str] = []
            i += 1
            while i < len(lines) and not re.fullmatch(rf"{fence}`*\s*", lines[i]):
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise RenderError(
                    f"{path}: python cell opened with {fence}{{python}} is never closed"
                )
            flush_markdown()
            cells.append(_code_cell(body, path, open_line))
        else:
            fence_match = _FENCE.match(line.strip())
            if fence_match:
                fence = fence_match.group("fence")
                if md_fence is None:
                    md_fence = fence
                elif (
                    line.strip().startswith(md_fence) and not line.strip()[len(md_fence) :].strip()
                ):
                    md_fence = None
            markdown.append(line)
        i += 1
    flush_markdown()
    return Page(path=path, meta=meta, cells=cells)


def _code_cell(body: list[str], path: Path, open_line: int = 0) -> Cell:
    """A python cell; leading ``#| key: value`` lines are YAML options, as in Quarto."""
    option_lines = []
    for line in body:
        m = _OPTION.match(line)
        if not m:
            break
        option_lines.append(m.group("text"))
    n = len(option_lines)
    try:
        options = (yaml.safe_load("\n".join(option_lines)) or {}) if option_lines else {}
    except yaml.YAMLError as err:
        raise RenderError(f"{path}: bad #| cell options {option_lines} ({err})") from None
    return Cell("code", "\n".join(body[n:]).strip("\n"), options, open_line)
