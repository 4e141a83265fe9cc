"""The site renderer: .qmd parsing, the Jupyter fallback, the Quarto path, atomic swaps.

The full-site tests build a fake project (``tests/synthetic_results.make_project``
→ ``foxdog.stages.analyze.run``) and render the real ``report/`` pages on it;
:func:`build_site` is shared with ``test_report_browser.py`` and renders once per
test session.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from foxdog.config import Params
from foxdog.site import render
from foxdog.site.render import RenderError, parse_qmd, render_site

REPO = Path(__file__).resolve().parents[1]
PAGES = [
    "index.html",
    "dataset.html",
    "experiments.html",
    "gallery.html",
    "insights.html",
    "method.html",
]
_SITE_CACHE: dict[str, Path] = {}


# --------------------------------------------------------------------------- helpers


#: The session site's classes: three, none of them fox or dog, so a page that assumes
#: two classes or their names shows it.
SITE_CLASSES = ("badger", "heron", "otter")


def build_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Render the real report pages on a synthetic project, once per session; return ``_site``."""
    if "site" in _SITE_CACHE:
        return _SITE_CACHE["site"]
    from regime_project import make_regime_project

    from foxdog.config import load_params

    root = tmp_path_factory.mktemp("project")
    make_regime_project(root, classes=SITE_CLASSES)
    write_probcover_delta(root, load_params(root / "params.yaml"))
    add_decision_map(root)
    copy_report_sources(root)
    _SITE_CACHE["site"] = render_site(root, engine="jupyter")
    return _SITE_CACHE["site"]


def add_decision_map(root: Path) -> None:
    """A hand-made ``analysis.json["decision"]`` when the analysis wrote none.

    Rows in the contract's shape (one per start × strategy × budget on random's curve),
    chosen so the map shows every verdict: pays, no difference, costs, and a missing interval.
    """
    import pandas as pd

    path = root / "metrics" / "analysis.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("decision"):
        return
    curves = pd.read_csv(root / "plots" / "curves.csv")
    rows, conditions = [], {}
    for k, start in enumerate(doc["starts"]):
        conditions[start] = {"start": start, "rare_class": None, "pool_share": None}
        labels = sorted(set(curves.loc[curves["start"] == start, "n_labels"].astype(int)))
        budgets = labels[1::2]
        for j, strategy in enumerate(
            s for s in doc["regimes"][start]["strategies"] if s != "random"
        ):
            for b, budget in enumerate(budgets):
                factor, low, high = [
                    (1.8, 1.3, 2.4),  # pays
                    (1.1, 0.8, 1.5),  # no difference
                    (0.7, 0.55, 0.9),  # costs
                    (1.4, None, None),  # too few seeds: no interval
                ][(k + j + b) % 4]
                rows.append(
                    {
                        "condition": start,
                        "start": start,
                        "strategy": strategy,
                        "budget": budget,
                        "metric": "accuracy",
                        "n_seeds": 8,
                        "n_censored": b % 2,
                        "factor": factor,
                        "low": low,
                        "high": high,
                        "labels_needed": budget / factor,
                        "verdict": "?",
                    }
                )
    doc["decision"] = {"rows": rows, "conditions": conditions, "headline": {}}
    path.write_text(json.dumps(doc), encoding="utf-8")


def write_probcover_delta(root: Path, params: Params) -> None:
    """``metrics/probcover_delta.csv`` from the real module, on generated embeddings."""
    import numpy as np
    import pandas as pd

    from foxdog import probcover_delta as pcd

    parts = []
    for seed in params.active.seeds[: pcd.N_SEEDS]:
        rng = np.random.default_rng(seed)
        centres = np.abs(rng.normal(0, 1, (2, 8)))
        emb = np.abs(np.vstack([c + rng.normal(0, 0.3, (60, 8)) for c in centres]))
        table = pcd.seed_table(emb, 2, params.active.query_size, random_state=seed)
        parts.append(table.assign(seed=seed, budget=params.active.query_size, n_labelled=20))
    frame = pd.concat(parts, ignore_index=True)[pcd.COLUMNS]
    frame.to_csv(root / "metrics" / "probcover_delta.csv", index=False)


def render_one_page_without(root: Path, page: str, missing: str, tmp_path: Path) -> str:
    """Render ``report/<page>.qmd`` alone on a copy of ``root`` lacking ``missing``; its text."""
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("_site", "report", "_quarto.yml"))
    (copy / missing).unlink()
    mini_project(copy, (REPO / "report" / f"{page}.qmd").read_text(encoding="utf-8"))
    text = (render_site(copy, engine="jupyter") / "index.html").read_text(encoding="utf-8")
    return " ".join(re.sub(r"<[^>]+>", "", html.unescape(text)).split())


def copy_report_sources(root: Path) -> None:
    """The site definition (``_quarto.yml``, ``report/``) of this repository, into ``root``."""
    shutil.copy2(REPO / "_quarto.yml", root / "_quarto.yml")
    shutil.copytree(
        REPO / "report",
        root / "report",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("*_files", ".jupyter_cache", "*.ipynb"),
    )


def mini_project(root: Path, page: str, navbar: list[dict[str, str]] | None = None) -> Path:
    """A one-page project using the real template and stylesheet."""
    (root / "report").mkdir(parents=True)
    shutil.copytree(REPO / "report" / "_template", root / "report" / "_template")
    shutil.copy2(REPO / "report" / "styles.css", root / "report" / "styles.css")
    config = {
        "project": {"type": "website", "output-dir": "_site", "execute-dir": "project"},
        "website": {
            "title": "mini & <site>",
            "navbar": {"left": navbar or [{"href": "report/index.qmd", "text": "Home"}]},
        },
        "format": {"html": {"css": "report/styles.css"}},
        "execute": {"echo": False},
    }
    (root / "_quarto.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "report" / "index.qmd").write_text(textwrap.dedent(page), encoding="utf-8")
    return root


# --------------------------------------------------------------------------- parsing


def test_parse_qmd_front_matter_cells_and_options(tmp_path: Path) -> None:
    qmd = tmp_path / "page.qmd"
    qmd.write_text(
        textwrap.dedent(
            """\
            ---
            title: "A page"
            execute:
              echo: true
            ---

            Intro *text*.

            ```{python}
            #| echo: false
            #| output: asis
            print("**hi**")
            ```

            ```bash
            ```{python}
            not a cell: inside a bash block
            ```

            ````{python}
            x = "```"
            ````
            """
        ),
        encoding="utf-8",
    )
    page = parse_qmd(qmd)
    assert page.meta == {"title": "A page", "execute": {"echo": True}}
    kinds = [c.kind for c in page.cells]
    assert kinds == ["markdown", "code", "markdown", "code"]
    assert page.cells[1].options == {"echo": False, "output": "asis"}
    assert page.cells[1].source == 'print("**hi**")'
    assert "not a cell" in page.cells[2].source
    assert page.cells[3].source == 'x = "```"'


def test_parse_qmd_reports_an_unclosed_cell(tmp_path: Path) -> None:
    qmd = tmp_path / "bad.qmd"
    qmd.write_text("---\ntitle: x\n---\n\n```{python}\n1 + 1\n", encoding="utf-8")
    with pytest.raises(RenderError, match="bad.qmd: python cell .* never closed"):
        parse_qmd(qmd)


# --------------------------------------------------------------------------- jupyter engine


def test_fallback_honours_cell_options_and_builds_navigation(tmp_path: Path) -> None:
    root = mini_project(
        tmp_path / "p",
        """\
        ---
        title: "Home <page>"
        subtitle: "sub & title"
        ---

        Some **markdown**. ![a picture](img/dot.png)

        ```{python}
        from pathlib import Path
        print("cwd-is-root", Path("params.marker").is_file())
        ```

        ```{python}
        #| output: asis
        print("*printed markdown*")
        ```

        ```{python}
        #| echo: true
        shown_source = 6 * 7
        shown_source
        ```

        ```{python}
        #| include: false
        print("never shown")
        ```

        ```{python}
        from IPython.display import Markdown
        Markdown("from a *Markdown* object")
        ```
        """,
    )
    (root / "params.marker").write_text("x", encoding="utf-8")
    (root / "report" / "img").mkdir()
    (root / "report" / "img" / "dot.png").write_bytes(b"\x89PNG fake")
    out = render_site(root, engine="jupyter")
    assert out == root / "_site"
    page = (out / "index.html").read_text(encoding="utf-8")
    # Front matter and navigation, escaped.
    assert '<h1 class="title">Home &lt;page&gt;</h1>' in page
    assert "sub &amp; title" in page and "mini &amp; &lt;site&gt;" in page
    assert re.search(
        r'<a[^>]*class="active"[^>]*href="index.html"|href="index.html"[^>]*class="active"', page
    )
    # The kernel runs in the project root, hidden code stays hidden.
    assert "cwd-is-root True" in page
    assert "print(&quot;cwd-is-root" not in page and 'print("cwd-is-root' not in page
    assert "<em>printed markdown</em>" in page
    assert "shown_source" in page and "42" in page
    assert "never shown" not in page
    assert "from a <em>Markdown</em> object" in page
    # Local images are copied next to the page; styles come along; nothing remote.
    assert (out / "img" / "dot.png").read_bytes() == b"\x89PNG fake"
    assert (out / "styles.css").is_file()
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?:", page)
    assert "require.js" not in page and "mathjax" not in page.lower()


def test_same_inputs_render_byte_identical_pages(tmp_path: Path) -> None:
    # DVC records the site's hash in dvc.lock: a re-render must not change it.
    root = mini_project(
        tmp_path / "p",
        """\
        ---
        title: "Twice"
        ---

        Text between cells.

        ```{python}
        import altair as alt
        import pandas as pd

        from foxdog.site import offline

        offline.enable_offline_renderer()
        alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
        ```
        """,
    )
    first = (render_site(root, engine="jupyter") / "index.html").read_bytes()
    second = (render_site(root, engine="jupyter") / "index.html").read_bytes()
    assert b"<svg" in first or b"vegaEmbed(" in first
    assert first == second


def test_failed_render_keeps_the_previous_site(tmp_path: Path) -> None:
    root = mini_project(tmp_path / "p", "---\ntitle: ok\n---\n\nfine\n")
    out = render_site(root, engine="jupyter")
    before = (out / "index.html").read_text(encoding="utf-8")
    (root / "report" / "index.qmd").write_text(
        "---\ntitle: broken\n---\n\ntext\n\n```{python}\nx = {}\n```\n\nmore\n\n"
        "```{python}\n#| echo: false\nx['missing']\n```\n",
        encoding="utf-8",
    )
    with pytest.raises(RenderError) as caught:
        render_site(root, engine="jupyter")
    # One plain line naming the page, the failing cell and the error; no traceback.
    assert str(caught.value) == "report/index.qmd cell 2 (line 13): KeyError: 'missing'"
    assert (out / "index.html").read_text(encoding="utf-8") == before
    leftovers = [p.name for p in root.iterdir() if p.name.startswith("._site")]
    assert leftovers == []


def test_stale_staging_folders_of_a_killed_render_are_removed(tmp_path: Path) -> None:
    root = mini_project(tmp_path / "p", "---\ntitle: ok\n---\n\nfine\n")
    for name in ("._site.tmp-killed", "._site.old-killed", ".quarto-stage-killed"):
        (root / name).mkdir()
        (root / name / "index.html").write_text("stale", encoding="utf-8")
    (root / "._site.tmp-note.txt").write_text("a file, not a staging folder", encoding="utf-8")
    render_site(root, engine="jupyter")
    left = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    assert left == ["._site.tmp-note.txt"]
    ignored = (Path(__file__).parents[1] / ".gitignore").read_text(encoding="utf-8").split()
    assert "/._site.tmp-*" in ignored and "/.quarto-stage-*" in ignored


def test_kernel_folders_of_a_killed_report_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 19: a killed `foxdog report` left /tmp/foxdog-kernel-* that no run removed.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no process
    killed = tmp_path / f"foxdog-kernel-{gone.pid}-abc123"
    running = tmp_path / f"foxdog-kernel-{os.getpid()}-def456"
    for folder in (killed, running):
        (folder / "foxdog-python").mkdir(parents=True)
    assert render.remove_stale_kernel_dirs(tmp_path) == [killed]
    assert not killed.exists() and running.exists()
    # The renderer does it itself before making its own kernelspec.
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    killed.mkdir()
    with render._kernelspec_dir() as dirs:
        assert Path(dirs[0]).name.startswith(f"foxdog-kernel-{os.getpid()}-")
    assert not killed.exists()


def test_quarto_failure_is_summarised_in_one_line() -> None:
    from foxdog.site.render import quarto_failure

    output = (
        "\x1b[1m[1/4] index.qmd\x1b[0m\n[2/4] insights.qmd\n\nStarting python3 kernel...Done\n"
        "  Cell 1/9: ''...Done\n  Cell 7/9: ''...\x1b[31mERROR\x1b[39m: \n\n"
        "An error occurred while executing the following cell:\n------------------\n"
        "frame['x']\n------------------\n\n\x1b[0;31m----------\x1b[0m\n"
        "\x1b[0;31mKeyError\x1b[0m                   Traceback (most recent call last)\n"
        "Cell \x1b[0;32mIn[7], line 1\x1b[0m\n\n\x1b[0;31mKeyError\x1b[0m: 'x'\n"
    )
    assert quarto_failure(output, 1) == "report/insights.qmd cell 7: KeyError: 'x'"
    assert quarto_failure("", 3) == "quarto render: exit status 3"


def test_missing_config_and_unknown_engine(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="_quarto.yml: not found"):
        render_site(tmp_path, engine="jupyter")
    with pytest.raises(ValueError, match="engine must be one of"):
        render_site(tmp_path, engine="pandoc")


# --------------------------------------------------------------------------- quarto engine


FAKE_QUARTO = """\
#!{python}
# Stands in for `quarto render <dir>`: checks the staged, flattened project and
# writes one HTML file per page into the configured output-dir.
import os, sys, yaml
from pathlib import Path
assert sys.argv[1] == "render", sys.argv
stage = Path(sys.argv[2])
config = yaml.safe_load((stage / "_quarto.yml").read_text())
out = stage / config["project"]["output-dir"]  # relative to the project, as in Quarto
hrefs = [item["href"] for item in config["website"]["navbar"]["left"]]
assert all("/" not in h for h in hrefs), hrefs
assert config["format"]["html"]["css"] == "styles.css"
assert os.environ["FOXDOG_PROJECT"] and os.environ["QUARTO_PYTHON"]
out.mkdir(parents=True, exist_ok=True)
for name in config["project"]["render"]:
    assert (stage / name).is_file(), name
    (out / name.replace(".qmd", ".html")).write_text("quarto:" + name)
"""


def test_quarto_engine_stages_flat_pages_and_swaps_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    quarto = bin_dir / "quarto"
    quarto.write_text(FAKE_QUARTO.replace("{python}", sys.executable), encoding="utf-8")
    quarto.chmod(quarto.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    root = mini_project(
        tmp_path / "p",
        "---\ntitle: q\n---\n\nhi\n",
        navbar=[
            {"href": "report/index.qmd", "text": "Home"},
            {"href": "report/other.qmd", "text": "Other"},
        ],
    )
    (root / "report" / "other.qmd").write_text("---\ntitle: other\n---\n", encoding="utf-8")
    assert render.quarto_available()
    out = render_site(root)  # auto picks Quarto when it is on PATH
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "other.html"]
    assert (out / "index.html").read_text() == "quarto:index.qmd"
    assert not [p for p in root.iterdir() if p.name.startswith(".quarto-stage")]


# --------------------------------------------------------------------------- the real pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(tmp_path_factory)


def test_every_page_is_rendered_with_navigation(site: Path) -> None:
    for name in PAGES:
        page = (site / name).read_text(encoding="utf-8")
        assert '<nav aria-label="Site" class="foxdog-navbar">' in page, name
        for other in PAGES:
            assert f'href="{other}"' in page, f"{name} does not link to {other}"
        # No cell wrote to stderr (warnings, tracebacks) into the page.
        assert "application/vnd.jupyter.stderr" not in page, name
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?:", page), name


def test_data_text_is_escaped(site: Path) -> None:
    """The synthetic data has a breed with ``<script>`` and ``&``; it must show as text."""
    page = (site / "dataset.html").read_text(encoding="utf-8")
    text_only = re.sub(r"<script\b.*?</script>", "", page, flags=re.S | re.I)
    assert "<script>alert" not in text_only.lower()
    assert "&lt;script&gt;" in page
    for name in PAGES:
        body = (site / name).read_text(encoding="utf-8")
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", body, flags=re.S | re.I)
        assert not any("alert(" in s for s in scripts), f"{name}: data text inside a script"


def test_charts_are_embedded_offline(site: Path) -> None:
    for name in ("index.html", "experiments.html", "gallery.html"):
        page = (site / name).read_text(encoding="utf-8")
        assert page.count("window.vegaEmbed=") == 1, name  # the bundle, once
        assert page.count('vegaEmbed("#fd-chart-') >= 1, name


def page_text(site: Path, name: str) -> str:
    """The visible text of a rendered page: no scripts, styles, tags or entities."""
    page = (site / name).read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_overview_opens_with_the_answer_and_its_claims_match_the_numbers(site: Path) -> None:
    """The first paragraph is narrative.answer of analysis.json; each claim fits its row."""
    import json

    from foxdog.analysis import narrative

    doc = json.loads((site.parent / "metrics" / "analysis.json").read_text())
    page = (site / "index.html").read_text(encoding="utf-8")
    answer = re.search(r'<div class="fd-answer">(.*?)</div>', page, flags=re.S).group(1)
    (paragraph,) = [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", answer, flags=re.S)]
    assert paragraph == narrative.answer(doc)["text"]
    assert len(paragraph.split()) <= 80
    rows = doc["decision"]["rows"]
    # A natural condition reads "<start>, natural mix" (the project's pools are natural).
    where = r"(\w+)(?:, natural mix)?"
    said = re.findall(rf"(?<!no )\b(\w+) (saves|costs) labels from {where} at (\d+)", paragraph)
    said += [
        (m[2], "saves", m[0], m[1])
        for m in re.findall(rf"from {where} at (\d+) labels, (\w+) saves labels", paragraph)
    ]
    said = [(s, w, c, int(b)) for s, w, c, b in said]
    sure = [
        r
        for r in rows
        if narrative.saving_word(r["low"], r["high"], null=1.0) != narrative.NO_DIFFERENCE
    ]
    assert bool(said) == bool(sure), paragraph  # a sure row is named, none is made up
    for strategy, word, condition, budget in said:
        (row,) = [
            r
            for r in rows
            if (r["strategy"], r["condition"], int(r["budget"])) == (strategy, condition, budget)
        ]
        # "saves" only when the whole interval of the speed-up lies above 1; "costs" below.
        assert (row["low"] > 1) if word == "saves" else (row["high"] < 1), row
        assert narrative.factor_text(row) in paragraph
    # The decision map and the budget control follow; p-values are on Experiments, not here.
    text = page_text(site, "index.html")
    assert "Your budget" in text and "adjusted p" not in text


def test_experiments_page_has_the_tests_per_regime(site: Path) -> None:
    """The per-regime tests (adjusted p within and over all regimes) moved to Experiments."""
    import json

    doc = json.loads((site.parent / "metrics" / "analysis.json").read_text())
    text = page_text(site, "experiments.html")
    assert "adjusted p (over all regimes)" in text
    for start in doc["starts"]:
        regime = doc["regimes"][start]
        assert f"{100 * regime['baseline']['accuracy']:.1f}%" in text, start
        verdict = regime["verdict"]
        assert f"{100 * verdict['mean_difference']:+.1f} pp" in text, start
        random_final = regime["strategies"]["random"]["final_accuracy"]["mean"]
        assert f"{100 * random_final:.1f}% at" in text, start
    for start, row in doc["overview"]["per_start"].items():
        if row.get("saving"):
            assert f"{round(row['saving']['labels']):,} [" in text, start


def test_pages_name_the_projects_classes_and_no_others(site: Path) -> None:
    """A three-class project: its class names on the pages, never a hard-coded fox or dog."""
    for name in PAGES:
        text = page_text(site, name)
        assert not re.search(r"\b(fox|foxes|dog|dogs)\b", text, flags=re.I), name
    for name in ("dataset.html", "gallery.html", "index.html", "method.html"):
        text = page_text(site, name)
        for c in SITE_CLASSES:
            assert c in text, f"{name} does not name the class {c}"
    dataset = (site / "dataset.html").read_text(encoding="utf-8")
    for c in SITE_CLASSES:  # one contact sheet per class
        assert f'alt="contact sheet of {c} photos"' in dataset
    gallery = (site / "gallery.html").read_text(encoding="utf-8")
    for k in range(len(SITE_CLASSES)):  # frames coloured by class index
        assert f'class="fd-class-{k}"' in gallery
    assert gallery.count('<details class="fd-regime"') == 3


def test_a_two_class_project_names_its_classes_where_the_data_says_so(tmp_path: Path) -> None:
    """Fox and dog appear on the data pages when they are the project's classes."""
    from regime_project import make_regime_project

    root = make_regime_project(
        tmp_path / "p", classes=("dog", "fox"), starts=("scratch", "transfer"),
        strategies=("random", "margin"), seeds=(0, 1, 2), rounds=3,
    )  # fmt: skip
    copy_report_sources(root)
    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8"))
    keep = {"report/gallery.qmd", "report/dataset.qmd"}
    config["website"]["navbar"]["left"] = [
        {"href": "report/index.qmd", "text": "Gallery"},
        {"href": "report/dataset.qmd", "text": "Dataset"},
    ]
    (root / "_quarto.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for page in (root / "report").glob("*.qmd"):
        if f"report/{page.name}" not in keep:
            page.unlink()
    (root / "report" / "gallery.qmd").rename(root / "report" / "index.qmd")
    site = render_site(root, engine="jupyter")
    gallery, dataset = page_text(site, "index.html"), page_text(site, "dataset.html")
    assert "■ dog, ■ fox" in gallery and "confidence near 1/2" in gallery
    assert "Starting model: transfer (supervised transfer)" in gallery
    assert re.search(r"\b(dog|fox) 0\.\d\d\b", gallery)  # predicted class and confidence
    assert "*dog*" not in dataset and " dog (" in dataset and " fox (" in dataset
    page = (site / "dataset.html").read_text(encoding="utf-8")
    assert (
        'alt="contact sheet of dog photos"' in page and 'alt="contact sheet of fox photos"' in page
    )


def test_experiments_page_has_every_regime(site: Path) -> None:
    text = page_text(site, "experiments.html")
    for start in ("scratch", "transfer", "selfsup"):
        assert f"{start}: " in text  # the regime's verdict
        assert f"Starting from {start}: labels to reach each share" in text
    page = (site / "experiments.html").read_text(encoding="utf-8")
    assert '"name": "regime"' in page  # the starting-model drop-down is in the specs


def test_dataset_page_says_when_the_pretraining_corpus_is_absent(site: Path) -> None:
    """The synthetic project has no ``curated_pretrain/``: the page says so instead of failing."""
    assert not (site.parent / "curated_pretrain").exists()
    page = html.unescape((site / "dataset.html").read_text(encoding="utf-8"))
    assert "curated_pretrain/datasheet.json not found" in re.sub(r"<[^>]+>", "", page)
    assert "curated_pretrain/overlap.json not found" in re.sub(r"<[^>]+>", "", page)


def test_method_page_is_honest_about_what_the_validation_split_rechecked(site: Path) -> None:
    text = page_text(site, "method.html")
    # First chosen on test, re-checked on validation alone since (benchmarks §§7, 11).
    assert "were first chosen on the test split" in text
    assert "re-checked on the validation split alone" in text
    assert "the settings they chose are the ones re-checked" not in text
    # No pretraining metrics in the synthetic project: the page says so for each encoder.
    assert "metrics/pretrain_supervised.json is absent" in text
    assert "metrics/pretrain_simclr.json is absent" in text
    for start in ("scratch", "transfer", "selfsup"):
        assert f"{start} — " in text
    assert "model.trunk_lr 1.0" in text
    # benchmarks/README.md is not in the synthetic project: the TTA sentence stays qualitative.
    assert "benchmarks/README.md states no measured effect of it yet" in text


def test_insights_page_explains_ranked_batch_from_the_pool_and_params(site: Path) -> None:
    import numpy as np

    from foxdog.config import load_params

    text = re.sub(r"<[^>]+>", "", html.unescape((site / "insights.html").read_text("utf-8")))
    text = " ".join(text.split())
    a = load_params(site.parent / "params.yaml").active
    n = len(np.load(site.parent / "curated" / "pool_labels.npy"))
    last = a.initial_size + (a.rounds - 1) * a.query_size
    assert f"α = {(n - a.initial_size) / n:.2f} at the first query" in text
    assert f"still {(n - last) / n:.2f} at the last ({last} labels)" in text
    for name in ("typiclust", "probcover", "badge"):
        assert f"{name} (" in text  # one line each, marked when the run has no results
    # The synthetic project has the δ table: the chart and the per-seed choice are shown.
    assert "The δ the purity heuristic picks, per seed" in text
    assert "ProbCover: ball purity and one round" in html.unescape(
        (site / "insights.html").read_text("utf-8")
    )


def test_insights_page_says_when_the_probcover_table_is_absent(site: Path, tmp_path: Path) -> None:
    text = render_one_page_without(site.parent, "insights", "metrics/probcover_delta.csv", tmp_path)
    assert "metrics/probcover_delta.csv not found" in text
    assert "its δ table, metrics/probcover_delta.csv, is absent here" in text
    assert "The δ the purity heuristic picks, per seed" not in text


def test_insights_page_renders_a_saving_of_one_paired_seed(site: Path, tmp_path: Path) -> None:
    # Issue 19: a saving whose interval is null (one paired seed reached the target)
    # crashed the page negating its upper bound ("bad operand type for unary -").
    import json

    copy = tmp_path / "copy"
    shutil.copytree(
        site.parent, copy, ignore=shutil.ignore_patterns("_site", "report", "_quarto.yml")
    )
    doc_path = copy / "metrics" / "analysis.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    one_pair = {"status": "ok", "labels": -40.0, "low": None, "high": None, "n_pairs": 1}
    for reg in doc["regimes"].values():
        for name, info in reg["strategies"].items():
            for target in info["targets"].values():
                if name != "random":
                    target["saving_vs_random"] = dict(one_pair)
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    mini_project(copy, (REPO / "report" / "insights.qmd").read_text(encoding="utf-8"))
    page = (render_site(copy, engine="jupyter") / "index.html").read_text(encoding="utf-8")
    text = " ".join(re.sub(r"<[^>]+>", "", html.unescape(page)).split())
    assert "without an interval (too few paired seeds)" in text
    assert re.search(r"\w+ needs 40 more over 1 seed", text)


# --------------------------------------------------------------------------- page helpers


def _regime_doc() -> dict:
    """A minimal regime-axis ``metrics/analysis.json`` (docs/formats.md): scratch and transfer."""

    def regime(accuracy: float, significant: bool) -> dict:
        test = {"verdict": "better" if significant else "not distinguishable"}
        return {
            "baseline": {"accuracy": accuracy, "low": accuracy - 0.01, "high": accuracy + 0.01},
            "targets": [{"fraction": 0.95, "key": "95", "accuracy": 0.95 * accuracy}],
            "verdict": {"arm": "margin", "members": ["margin"], "significant": significant},
            "strategies": {
                "random": {"final_accuracy": {"mean": accuracy - 0.05}, "final_labels": 910},
                "margin": {"test_vs_random": test},
            },
            "ranking": ["margin", "random"] if significant else ["random", "margin"],
        }

    def per_start(significant: bool, saving: dict | None) -> dict:
        return {
            "arm": "margin",
            "significant": significant,
            "mean_difference": 0.031 if significant else -0.002,
            "low": 0.01,
            "high": 0.05,
            "p_adjusted": 0.0078,
            "p_adjusted_all": 0.0156,
            "saving": saving,
        }

    def full(mean: float) -> dict:
        return {"accuracy": mean, "low": mean - 0.01, "high": mean + 0.01, "n_seeds": 3}

    def common(labels: float | None, saving: dict | None) -> dict:
        return {
            "95": {
                "strategies": {
                    "random": {"labels": labels, "seeds_reached": 1.0 if labels else 0.25}
                },
                "random_saving_vs_reference": saving,
            }
        }

    diff = {"mean_difference": 0.06, "low": 0.05, "high": 0.07, "n_pairs": 3}
    saving = {"labels": 120.4, "low": 40, "high": 200, "n_pairs": 8, "fraction": 0.95,
              "accuracy": 0.817, "key": "95"}  # fmt: skip
    return {
        "classes": ["cat", "cow", "eel"],
        "starts": ["scratch", "transfer"],
        "settings": {"reference": "random", "confidence": 0.95, "reference_start": "scratch"},
        "regimes": {"scratch": regime(0.80, False), "transfer": regime(0.86, True)},
        "starting_model": {
            "reference_start": "scratch",
            "best_start": "transfer",
            "best_start_vs_reference": diff,
            "common_targets": [{"fraction": 0.95, "key": "95", "accuracy": 0.76}],
            "starts": {
                "scratch": {
                    "full_pool": full(0.80),
                    "full_pool_vs_reference": None,
                    "common_targets": common(None, None),
                },
                "transfer": {
                    "full_pool": full(0.86),
                    "full_pool_vs_reference": diff,
                    "common_targets": common(
                        300.0,
                        {"status": "ok", "labels": 410, "low": 300, "high": 520, "n_pairs": 2},
                    ),
                },
            },  # fmt: skip
        },
        "overview": {
            "sentences": ["One.", "Two."],
            "per_start": {"scratch": per_start(False, None), "transfer": per_start(True, saving)},
            "ranking_changes": True,
        },
    }


def test_regime_summary_reads_every_number_from_the_analysis() -> None:
    from foxdog.site import pages

    doc = _regime_doc()
    table = pages.regime_summary(doc).set_index("start")
    assert list(table.index) == ["scratch", "transfer"]
    assert table.loc["transfer", "full_pool"] == 0.86
    assert table.loc["transfer", "random_final"] == pytest.approx(0.81)
    assert table.loc["transfer", "verdict"] == "better" and table.loc["transfer", "significant"]
    assert table.loc["transfer", "p_adjusted_all"] == 0.0156
    assert table.loc["transfer", "saving"] == "120 [40, 200] over 8 seeds"
    assert table.loc["transfer", "target"] == "95% (81.7%)"
    assert table.loc["scratch", "saving"] == "–" and table.loc["scratch", "difference"] == -0.002
    assert pages.overview_sentences(doc) == ["One.", "Two."]
    assert pages.class_names(doc) == ["cat", "cow", "eel"]
    assert pages.ranking_changes(doc)
    assert pages.rankings(doc).set_index("strategy").loc["margin"].tolist() == [2, 1]


def test_starting_model_sentence_compares_the_best_start_with_scratch() -> None:
    from foxdog.site import pages

    text = pages.starting_model_sentence(_regime_doc())
    assert "the starting model with the highest mean, **transfer** (supervised transfer)" in text
    assert "reaches 86.0% [85.0%, 87.0%] test accuracy" in text
    assert "against 80.0% [79.0%, 81.0%] from scratch" in text
    assert "paired difference of +6.0 pp [+5.0 pp, +7.0 pp] (95% interval over 3 seeds)" in text


def test_common_targets_give_labels_per_start_and_the_saving_against_scratch() -> None:
    from foxdog.site import fmt, pages

    table = pages.common_targets(_regime_doc()).set_index("start")
    assert fmt.is_missing(table.loc["scratch", "labels"]) and table.loc["scratch", "saving"] == "–"
    assert table.loc["transfer", "labels"] == 300.0
    assert table.loc["transfer", "saving"] == (
        "410 [300, 520] fewer than from scratch, over the 2 seeds where both got there"
    )
    assert table["accuracy"].tolist() == [0.76, 0.76]
    # One paired seed: no interval, and no empty brackets either.
    one = {"status": "ok", "labels": 26, "low": None, "high": None, "n_pairs": 1}
    assert pages.saving_cell(one) == "26 over 1 seed"


def test_tta_measurement_quotes_the_readme_or_nothing() -> None:
    from foxdog.site import method_page

    assert (
        method_page.tta_measurement("## Not tried\nflip test-time augmentation: not measured")
        is None
    )
    line = "| flip test-time augmentation | +0.7 points on the validation split (3 seeds) |"
    assert method_page.tta_measurement("x\n" + line) == "+0.7 points on the validation split"
    assert method_page.tta_measurement("TTA changes accuracy by -0.2 pp") == "−0.2 points"


def test_class_helpers_are_neutral() -> None:
    import numpy as np

    from foxdog.site import markup, pages

    classes = ["ant", "bee", "cat"]
    assert pages.class_of(2, classes) == "cat" and pages.class_of(5, classes) == "class 5"
    assert markup.class_css(9) == "fd-class-1"
    assert pages.pool_shares(np.array([0, 0, 1, 2]), classes) == {
        "ant": 0.5,
        "bee": 0.25,
        "cat": 0.25,
    }
    legend = markup.class_legend_html(["<b>", "bee"])
    assert "&lt;b&gt;" in legend and 'class="fd-swatch fd-class-1"' in legend


def test_final_agreement_reads_the_last_kappa_of_each_strategy() -> None:
    import pandas as pd

    from foxdog.site import pages

    rows = [
        ("random", 0, "kappa_stop", None),
        ("random", 1, "kappa_stop", 0.4),
        ("random", 2, "kappa_stop", 0.7),
        ("random", 2, "accuracy", 0.99),
        ("margin", 1, "kappa_stop", 0.5),
        ("margin", 2, "kappa_stop", 0.6),
    ]
    curves = pd.DataFrame(rows, columns=["strategy", "round", "metric", "mean"])
    assert pages.final_agreement(curves).to_dict() == {"margin": 0.6, "random": 0.7}
    assert pages.final_agreement(curves[curves["metric"] == "accuracy"]).empty


def test_identical_arms_are_the_analysis_arms_with_more_than_one_member() -> None:
    from foxdog.site import pages

    arms = [
        {"members": ["random"], "name": "random"},
        {"members": ["margin", "entropy"], "name": "margin = entropy"},
        {"members": ["bald"], "name": "bald"},
    ]
    assert pages.identical_arms({"arms": arms}) == [["margin", "entropy"]]
    assert pages.identical_arms({"arms": arms[:1]}) == []


def test_paired_pvalues_mentions_the_adjustment_only_when_there_is_one() -> None:
    from foxdog.site import fmt

    assert fmt.paired_pvalues({"p_value": 0.041, "p_adjusted": 0.287, "n_comparisons": 7}) == (
        "p = 0.041, adjusted for 7 comparisons p = 0.287"
    )
    assert fmt.paired_pvalues({"p_value": 0.041, "p_adjusted": 0.041, "n_comparisons": 1}) == (
        "p = 0.041"
    )
    assert fmt.paired_pvalues({"p_value": 0.0001}) == "p < 0.001"


def test_html_table_escapes_and_formats() -> None:
    import pandas as pd

    from foxdog.site import fmt, markup

    frame = pd.DataFrame({"breed": ['<script>alert("x")</script> & Co'], "share": [0.5]})
    table = markup.html_table(frame, formats={"share": fmt.pct}, caption="a <caption>")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in table
    assert "<script" not in table and "a &lt;caption&gt;" in table
    assert '<td class="num">50.0%</td>' in table


# --- dvc plots show: offline HTML template --------------------------------------------

PROJECT = Path(__file__).resolve().parents[1]


def test_committed_dvc_plots_template_is_current_and_configured() -> None:
    from foxdog.site.render import DVC_PLOTS_TEMPLATE, dvc_plots_template

    committed = (PROJECT / DVC_PLOTS_TEMPLATE).read_text(encoding="utf-8")
    # Stale after a vl-convert upgrade: regenerate with `python -m foxdog.site.render`.
    assert committed == dvc_plots_template()
    assert "{plot_divs}" in committed and "{scripts}" not in committed
    config = (PROJECT / ".dvc" / "config").read_text(encoding="utf-8")
    assert re.search(r"\[plots\]\s+html_template = plots_offline\.html", config)


def test_dvc_plots_show_writes_html_that_needs_no_network(tmp_path: Path) -> None:
    from foxdog.site.render import DVC_PLOTS_TEMPLATE

    env = dict(os.environ, DVC_NO_ANALYTICS="1")

    def dvc(*args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "dvc", *args], cwd=tmp_path, env=env, check=True,
            capture_output=True, timeout=120,
        )  # fmt: skip

    dvc("init", "--no-scm", "-q")
    shutil.copy(PROJECT / DVC_PLOTS_TEMPLATE, tmp_path / DVC_PLOTS_TEMPLATE)
    shutil.copy(PROJECT / ".dvc" / "config", tmp_path / ".dvc" / "config")
    (tmp_path / "curve.csv").write_text("step,accuracy\n0,0.5\n1,0.7\n", encoding="utf-8")
    dvc("plots", "show", "curve.csv", "-o", "out")
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and not any("src=" in tag for tag in scripts)
    assert "cdn.jsdelivr.net" not in page
    assert "window.vegaEmbed=" in page  # the inlined bundle ...
    assert "vegaEmbed('#curve_csv'" in page  # ... that DVC's plot calls


def test_split_table_orders_pool_validation_test_and_counts_every_class() -> None:
    from foxdog.site import dataset_page

    table = dataset_page.split_table(
        {"test": {"ant": 1, "bee": 3}, "val": {"ant": 2, "cat": 2}, "pool": {"ant": 9, "bee": 1}},
        ["ant", "bee", "cat"],
    )
    assert list(table["split"]) == ["pool", "validation", "test"]
    assert list(table.columns) == ["split", "ant", "bee", "cat", "images"]
    assert table["cat"].tolist() == [0, 2, 0] and table["images"].tolist() == [10, 4, 4]


def test_leakage_sentence_reports_count_closest_distance_and_threshold() -> None:
    from foxdog.site import dataset_page

    clean = {
        "corpus_images": 20999,
        "foxdog_images": 3610,
        "hash_size": 8,
        "max_hash_distance": 4,
        "min_distance": 6,
        "near_duplicates": 0,
        "passed": True,
    }
    text = dataset_page.leakage_sentence(clean)
    assert "(passed)" in text and "64-bit" in text and "20,999 corpus" in text
    assert "0 near-duplicates" in text and "≤ 4" in text and "6 bits apart" in text
    assert "dropped" not in text
    leaky = dataset_page.leakage_sentence({**clean, "near_duplicates": 1, "min_distance": 2})
    assert "1 near-duplicate " in leaky and "2 bits apart" in leaky and "dropped" in leaky
    # Found and dropped is the check doing its job, not a failure (issue 19).
    assert "(those corpus images dropped)" in leaky and "failed" not in leaky


def test_optional_readers_return_none_for_absent_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from foxdog.site import inputs

    monkeypatch.setenv("FOXDOG_PROJECT", str(tmp_path))
    assert inputs.optional_json("curated_pretrain", "overlap.json") is None
    assert inputs.optional_csv("metrics", "probcover_delta.csv") is None
    (tmp_path / "a.json").write_text('{"x": NaN}')
    (tmp_path / "b.csv").write_text("delta,purity\n0.5,1.0\n")
    assert inputs.optional_json("a.json")["x"] != inputs.optional_json("a.json")["x"]  # NaN read
    assert inputs.optional_csv("b.csv")["purity"].tolist() == [1.0]


def test_canine_classes_finds_dog_wolf_and_fox_wordnet_ids() -> None:
    from foxdog.site import dataset_page

    corpus = ["n01532829", "n02074367", "n02129165", "n03017168"]  # none canine
    assert dataset_page.canine_classes(corpus) == []
    leaked = corpus + ["n02120079", "n02085620", "n02114367"]  # Arctic fox, Chihuahua, wolf
    assert dataset_page.canine_classes(leaked) == ["n02085620", "n02114367", "n02120079"]
