"""Render the report website: Quarto when it is installed, else a Jupyter fallback.

The pages are the Quarto sources ``report/*.qmd`` listed in ``_quarto.yml``.
Both engines produce the same flat site, ``_site/index.html``,
``_site/experiments.html`` and so on:

* **quarto** — the pages are staged, flattened, beside a rewritten copy of
  ``_quarto.yml`` and rendered with ``quarto render``. (Quarto keeps the
  source folder in its output paths, so rendering ``report/index.qmd`` in
  place would give ``_site/report/index.html``.) Code cells find the result
  files through the ``FOXDOG_PROJECT`` environment variable.
* **jupyter** — each page is parsed into a notebook (YAML front matter,
  ```` ```{python} ```` cells with their ``#|`` options, markdown in between),
  executed with nbclient on the running interpreter's kernel with the project
  root as working directory, and exported by nbconvert through the template in
  ``report/_template/foxdog`` (no CDN: no require.js, no MathJax), with a
  navigation bar built from ``_quarto.yml``.

Either way the site is written to a temporary folder beside ``out_dir`` and
swapped in only when every page succeeded, so an interrupted or failed render
leaves the previous site untouched.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from foxdog import io
from foxdog.errors import RenderError
from foxdog.site.qmd import (
    PAGES_DIR,
    QUARTO_CONFIG,
    NavItem,
    Page,
    load_site_config,
    navigation,
    page_sources,
    parse_qmd,
)

TEMPLATE_DIR = "report/_template"
TEMPLATE_NAME = "foxdog"
ENGINES = ("auto", "quarto", "jupyter")
CELL_TIMEOUT_S = 600
QUARTO_STAGE_PREFIX = ".quarto-stage-"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Quarto's defaults for the execution options the fallback honours.
DEFAULT_OPTIONS: dict[str, Any] = {
    "echo": True,
    "output": True,
    "include": True,
    "warning": True,
    "error": False,
}
# Images written in a page's markdown: ![alt](src "title") and <img src="...">.
_MD_IMAGE = re.compile(r"(!\[[^\]]*\]\()(?P<src>[^)\s]+)((?:\s+\"[^\"]*\")?\))")
_HTML_IMAGE = re.compile(r"(<img\b[^>]*?\bsrc=[\"'])(?P<src>[^\"']+)([\"'])", re.IGNORECASE)


# --------------------------------------------------------------------------- public API


def quarto_available() -> bool:
    """True when a ``quarto`` executable is on PATH."""
    return shutil.which("quarto") is not None


def render_site(project_dir: Path, out_dir: Path | None = None, engine: str = "auto") -> Path:
    """Render every page of the report into ``out_dir`` (default ``<project>/_site``).

    ``engine``: ``"quarto"``, ``"jupyter"`` (the built-in fallback) or ``"auto"``
    (Quarto when it is on PATH). Returns ``out_dir``. The previous site is replaced
    only after every page rendered.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    project_dir = Path(project_dir).resolve()
    out_dir = Path(out_dir).resolve() if out_dir is not None else project_dir / "_site"
    if engine == "auto":
        engine = "quarto" if quarto_available() else "jupyter"
    if engine == "quarto" and not quarto_available():
        raise RenderError("quarto: not found on PATH (install Quarto or use engine='jupyter')")
    config = load_site_config(project_dir)
    sources = page_sources(project_dir, config)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # A killed Quarto render leaves its staged project behind (the site's own
    # staging folder is cleaned by io.staging_dir).
    for stale in project_dir.glob(f"{QUARTO_STAGE_PREFIX}*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    with io.staging_dir(out_dir) as tmp:
        if engine == "quarto":
            _render_quarto(project_dir, config, sources, tmp)
        else:
            _render_jupyter(project_dir, config, sources, tmp)
        if not (tmp / "index.html").is_file():
            raise RenderError(
                f"{engine} render produced no index.html (is report/index.qmd missing?)"
            )
        io.swap_in(tmp, out_dir)
    return out_dir


# --------------------------------------------------------------------------- quarto engine


def _flatten(value: Any) -> Any:
    """Drop the ``report/`` prefix from paths in ``_quarto.yml`` (the staged layout is flat)."""
    if isinstance(value, str) and value.startswith(PAGES_DIR + "/"):
        return value[len(PAGES_DIR) + 1 :]
    if isinstance(value, list):
        return [_flatten(v) for v in value]
    if isinstance(value, dict):
        return {k: _flatten(v) for k, v in value.items()}
    return value


def _render_quarto(
    project_dir: Path, config: dict[str, Any], sources: list[Path], out: Path
) -> None:
    """Stage report/ flat beside a rewritten ``_quarto.yml`` and run ``quarto render``."""
    with tempfile.TemporaryDirectory(prefix=QUARTO_STAGE_PREFIX, dir=project_dir) as stage_str:
        stage = Path(stage_str)
        pages_dir = project_dir / PAGES_DIR
        for item in pages_dir.iterdir():
            if item.name.startswith((".", "_")) or item.name.endswith("_files"):
                continue
            if item.is_dir():
                shutil.copytree(item, stage / item.name)
            else:
                shutil.copy2(item, stage / item.name)
        staged = _flatten(config)
        project = dict(staged.get("project") or {})
        # Relative to the staged project, as Quarto expects ("../.._site.tmp-x").
        project["output-dir"] = os.path.relpath(out, stage)
        project["render"] = [p.name for p in sources]
        project["execute-dir"] = "project"
        staged["project"] = project
        (stage / QUARTO_CONFIG).write_text(
            yaml.safe_dump(staged, sort_keys=False), encoding="utf-8"
        )
        env = dict(os.environ, FOXDOG_PROJECT=str(project_dir), QUARTO_PYTHON=sys.executable)
        proc = subprocess.run(
            ["quarto", "render", str(stage)], env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RenderError(quarto_failure(proc.stderr or proc.stdout, proc.returncode))


def quarto_failure(output: str, returncode: int) -> str:
    """One line from Quarto's coloured, many-line failure output: page, cell and error."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    pages = [m.group(1) for line in lines if (m := re.search(r"\[\s*\d+/\d+\]\s+(\S+\.qmd)", line))]
    cells = [m.group(1) for line in lines if (m := re.search(r"\bCell (\d+)/\d+", line))]
    errors = [
        line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b", line)
    ]
    where = f"{PAGES_DIR}/{pages[-1]}" if pages else "quarto render"
    if cells:
        where += f" cell {cells[-1]}"
    what = errors[-1] if errors else (lines[-1] if lines else f"exit status {returncode}")
    return f"{where}: {what}"


# --------------------------------------------------------------------------- jupyter engine


def _render_jupyter(
    project_dir: Path, config: dict[str, Any], sources: list[Path], out: Path
) -> None:
    """Execute and export every page with nbclient + nbconvert."""
    pages = [parse_qmd(p) for p in sources]
    nav = navigation(config, pages)
    site_title = str((config.get("website") or {}).get("title", ""))
    defaults = dict(DEFAULT_OPTIONS)
    defaults.update(config.get("execute") or {})
    css_files = _css_files(project_dir, config)
    for css in css_files:
        shutil.copy2(project_dir / css, out / Path(css).name)
    css_names = [Path(c).name for c in css_files]
    with _kernelspec_dir() as kernel_dirs:
        for page in pages:
            page_defaults = dict(defaults, **(page.meta.get("execute") or {}))
            for cell in page.cells:
                if cell.kind == "markdown":
                    cell.source = _copy_images(cell.source, page, project_dir, out)
            nb = _to_notebook(page, page_defaults)
            _execute(nb, page, project_dir, kernel_dirs)
            _apply_output_options(nb)
            body_html = _export(nb, page, project_dir, nav, site_title, css_names)
            (out / page.output_name).write_text(body_html, encoding="utf-8")


def _css_files(project_dir: Path, config: dict[str, Any]) -> list[str]:
    """CSS files named under ``format: html: css:`` in ``_quarto.yml``."""
    fmt = config.get("format") or {}
    html_fmt = fmt.get("html") if isinstance(fmt, dict) else None
    css = (html_fmt or {}).get("css") if isinstance(html_fmt, dict) else None
    files = [css] if isinstance(css, str) else list(css or [])
    for f in files:
        if not (project_dir / f).is_file():
            raise RenderError(f"{QUARTO_CONFIG}: css file {f} not found")
    return files


KERNEL_PREFIX = "foxdog-kernel-"


def remove_stale_kernel_dirs(tmp_root: Path | None = None) -> list[Path]:
    """Remove the kernelspec folders of renders whose process is gone (killed); return them.

    Each folder is named ``foxdog-kernel-<pid>-…`` by the render that made it, so one of a
    render still running (another project, another user's terminal) is left alone.
    """
    root = Path(tmp_root or tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{KERNEL_PREFIX}*-*"):
        pid = folder.name[len(KERNEL_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except PermissionError:
            pass  # alive, another user's
    return removed


@contextlib.contextmanager
def _kernelspec_dir() -> Iterator[list[str]]:
    """A throw-away kernelspec for *this* interpreter, so pages run in the project's venv."""
    # A killed render cannot clean up after itself: the next one does (issue 19).
    remove_stale_kernel_dirs()
    with tempfile.TemporaryDirectory(prefix=f"{KERNEL_PREFIX}{os.getpid()}-") as tmp:
        spec = Path(tmp) / "foxdog-python"
        spec.mkdir()
        kernel = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "foxdog (python)",
            "language": "python",
        }
        (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
        yield [tmp]


def _to_notebook(page: Page, defaults: dict[str, Any]) -> Any:
    """Notebook of the page; each code cell's effective options go into its metadata."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["title"] = page.title
    nb.metadata["kernelspec"] = {
        "name": "foxdog-python",
        "display_name": "foxdog",
        "language": "python",
    }
    for i, cell in enumerate(page.cells):
        # nbformat draws random cell ids, which end up in the HTML: number them instead,
        # so the same inputs render byte-identical pages (and an unchanged dvc.lock).
        if cell.kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source, id=f"cell-{i}"))
        else:
            code = nbformat.v4.new_code_cell(cell.source, id=f"cell-{i}")
            code.metadata["foxdog"] = dict(defaults, **cell.options)
            nb.cells.append(code)
    return nb


def _execute(nb: Any, page: Page, project_dir: Path, kernel_dirs: list[str]) -> None:
    """Run the page's cells in a fresh kernel whose working directory is the project root."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    ksm = KernelSpecManager(kernel_dirs=kernel_dirs)
    # Unix-socket transport: local only, and no "running over TCP without encryption" warning.
    km = KernelManager(
        kernel_name="foxdog-python",
        kernel_spec_manager=ksm,
        transport="ipc",
        ip=str(Path(kernel_dirs[0]) / f"ipc-{page.path.stem}"),
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(project_dir)}},
    )
    # Cells with `error: true` may fail on purpose, as in Quarto.
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata["foxdog"].get("error"):
            cell.metadata.setdefault("tags", []).append("raises-exception")
    env = dict(os.environ, FOXDOG_PROJECT=str(project_dir), MPLBACKEND="Agg")
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        raise RenderError(_cell_failure(nb, page, project_dir, err)) from None
    except Exception as err:  # kernel died, timed out, could not start
        raise RenderError(f"{page.path.name}: execution failed: {err}") from err
    finally:
        # nbclient shuts down only kernels it started itself; without this the kernel
        # outlives us and complains that its parent has exited.
        if km.has_kernel:
            km.shutdown_kernel(now=False)


def _cell_failure(nb: Any, page: Page, project_dir: Path, err: Any) -> str:
    """``report/x.qmd cell 3 (line 40): KeyError: 'x'`` — not nbclient's coloured traceback."""
    where = os.path.relpath(page.path, project_dir)
    number = 0
    for nb_cell, cell in zip(nb.cells, page.cells, strict=True):
        if cell.kind != "code":
            continue
        number += 1
        failed = any(o.get("output_type") == "error" for o in nb_cell.get("outputs", []))
        if failed and "raises-exception" not in nb_cell.metadata.get("tags", []):
            where += f" cell {number} (line {cell.line})"
            break
    evalue = _ANSI.sub("", str(err.evalue or "")).strip().splitlines()
    return f"{where}: {err.ename}: {evalue[0]}" if evalue else f"{where}: {err.ename}"


def _apply_output_options(nb: Any) -> None:
    """Honour Quarto's ``include``, ``echo``, ``output`` (incl. ``asis``) and ``warning``."""
    import nbformat

    kept = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            kept.append(cell)
            continue
        opts = cell.metadata["foxdog"]
        if not opts.get("include", True):
            continue
        output = opts.get("output", True)
        if output is False:
            cell.outputs = []
        if not opts.get("warning", True):
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")
            ]
        if output == "asis":
            # Quarto passes printed text through as markdown; do the same.
            converted = []
            for o in cell.outputs:
                if o.output_type == "stream" and o.name == "stdout":
                    o = nbformat.v4.new_output("display_data", data={"text/markdown": o.text})
                converted.append(o)
            cell.outputs = converted
        cell.metadata["foxdog_echo"] = bool(opts.get("echo", True))
        if not cell.metadata["foxdog_echo"] and not cell.outputs:
            continue  # nothing to show: no empty wrapper divs
        kept.append(cell)
    nb.cells = kept


def _export(
    nb: Any,
    page: Page,
    project_dir: Path,
    nav: list[NavItem],
    site_title: str,
    css: list[str],
) -> str:
    """HTML of one page through the project's template (navbar, no CDN)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_template_basedirs=[str(project_dir / TEMPLATE_DIR)],
        template_name=TEMPLATE_NAME,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    meta = page.meta
    resources = {
        "metadata": {"name": page.path.stem, "path": str(project_dir)},
        "foxdog": {
            "site_title": site_title,
            "title": page.title,
            "subtitle": str(meta.get("subtitle", "") or ""),
            "description": str(meta.get("description", "") or ""),
            "nav": [
                {"text": n.text, "href": n.href, "active": n.href == page.output_name} for n in nav
            ],
            "css": css,
        },
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def _copy_images(markdown: str, page: Page, project_dir: Path, out: Path) -> str:
    """Copy local images a markdown block references into the site; return it re-pointed.

    Paths resolve from the page's folder, as in Quarto. Images inside report/
    keep their relative path; others (e.g. ``../curated/x.png``) go under ``assets/``.
    """
    pages_dir = (project_dir / PAGES_DIR).resolve()

    def replace(match: re.Match[str]) -> str:
        src = html.unescape(match.group("src"))
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", src, re.IGNORECASE):
            return match.group(0)  # data:, http:, anchors and absolute paths are left alone
        source = (page.path.parent / src).resolve()
        if not source.is_file():
            raise RenderError(f"{page.path.name}: image {src} not found ({source})")
        if source.is_relative_to(pages_dir):
            rel = source.relative_to(pages_dir)
        elif source.is_relative_to(project_dir):
            rel = Path("assets") / source.relative_to(project_dir)
        else:
            rel = Path("assets") / source.name
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
        return match.group(1) + html.escape(rel.as_posix()) + match.group(3)

    return _HTML_IMAGE.sub(replace, _MD_IMAGE.sub(replace, markdown))


# --------------------------------------------------------------------------- dvc plots

DVC_PLOTS_TEMPLATE = Path(".dvc/plots_offline.html")
_DVC_TEMPLATE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- Vega, Vega-Lite and Vega-Embed {version}, inlined by vl-convert: the page works
         offline. Regenerate with `python -m foxdog.site.render` after upgrading vl-convert. -->
    <script type="text/javascript">
{bundle}
    </script>
    <style>
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def dvc_plots_template() -> str:
    """An HTML template for ``dvc plots show`` with the Vega libraries inlined (no CDN).

    DVC fills ``{plot_divs}`` (and ``{refresh_tag}``); the template has no
    ``{scripts}`` placeholder, so DVC's ``<script src="https://cdn...">`` tags are
    never inserted. The bundle assigns ``window.vegaEmbed``, which DVC's plot divs call.
    """
    import vl_convert as vlc

    bundle = vlc.javascript_bundle()
    for placeholder in ("{plot_divs}", "{scripts}", "{refresh_tag}", "</script"):
        if placeholder in bundle:  # DVC fills placeholders by plain text replacement
            raise RenderError(f"vl-convert bundle contains {placeholder!r}; cannot inline it")
    return _DVC_TEMPLATE.format(bundle=bundle, version=f"(vl-convert {vlc.__version__})")


def write_dvc_plots_template(project_dir: Path = Path(".")) -> Path:
    """Write :func:`dvc_plots_template` to ``.dvc/plots_offline.html`` (``plots.html_template``)."""
    return io.write_text(Path(project_dir) / DVC_PLOTS_TEMPLATE, dvc_plots_template())


if __name__ == "__main__":
    print(write_dvc_plots_template())
