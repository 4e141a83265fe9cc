"""HTML snippets for the report pages; every piece of text that comes from data is escaped."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from foxdog.site.fmt import Formatter, esc, is_missing
from foxdog.site.inputs import path


def html_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, Formatter] | None = None,
    *,
    caption: str | None = None,
    numeric: Iterable[str] = (),
) -> str:
    """An escaped HTML table of ``frame``.

    ``columns`` maps column → header (and picks and orders them); ``formats``
    maps column → function returning display text; ``numeric`` columns are
    right-aligned (numbers are right-aligned by default too).
    """
    columns = dict(columns) if columns is not None else {c: c for c in frame.columns}
    formats = dict(formats or {})
    numeric = set(numeric) | {
        c for c in columns if c in frame and pd.api.types.is_numeric_dtype(frame[c])
    }
    out = ['<table class="fd-table">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    head = "".join(
        f"<th{' class=' + chr(34) + 'num' + chr(34) if c in numeric else ''}>{esc(h)}</th>"
        for c, h in columns.items()
    )
    out.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            value = row.get(c)
            if c in formats:
                text = formats[c](value)
            elif is_missing(value):
                text = "–"
            else:
                text = str(value)
            cls = ' class="num"' if c in numeric else ""
            cells.append(f"<td{cls}>{esc(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def png_data_uri(data: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes (pages carry their images inline)."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def array_png(image: np.ndarray) -> bytes:
    """PNG bytes of one uint8 (H, W, 3) image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def image_file_html(relpath: str, alt: str, caption: str | None = None) -> str:
    """A ``<figure>`` with a project image embedded as a data URI (no file to copy)."""
    data = path(relpath).read_bytes()
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{png_data_uri(data)}" alt="{esc(alt)}">{cap}</figure>'


def thumbnails_html(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    classes: Sequence[str],
    titles: Sequence[str],
) -> str:
    """A grid of small images with captions; ``classes`` are CSS classes colouring the frame.

    Use :func:`class_css` for them: one colour per class index, whatever the class names.
    """
    figures = []
    for image, caption, cls, title in zip(images, captions, classes, titles, strict=True):
        figures.append(
            f'<figure><img class="{esc(cls)}" src="{png_data_uri(array_png(image))}" '
            f'alt="{esc(title)}" title="{esc(title)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )
    return '<div class="fd-gallery">' + "".join(figures) + "</div>"


def queried_examples(
    queries: pd.DataFrame,
    pool_ids: np.ndarray,
    *,
    rounds: Sequence[int],
    seed: int | None = None,
    per_round: int = 8,
) -> pd.DataFrame:
    """The first ``per_round`` picks (by rank) of one seed in each of ``rounds``.

    Adds ``index``: the row of each image in ``curated/pool_*.npy`` (ids that are
    not in the pool are dropped, so a stale results folder cannot crash the page).
    """
    if queries.empty:
        return queries.assign(index=pd.Series(dtype=int))
    if seed is None:
        seed = int(queries["seed"].min())
    chosen = queries[(queries["seed"] == seed) & (queries["round"].isin(list(rounds)))]
    chosen = chosen.sort_values(["round", "rank"]).groupby("round", sort=True).head(per_round)
    where = {str(i): k for k, i in enumerate(pool_ids.tolist())}
    chosen = chosen.assign(index=chosen["id"].astype(str).map(where))
    return chosen.dropna(subset=["index"]).astype({"index": int}).reset_index(drop=True)


def class_css(index: int) -> str:
    """CSS class that colours class ``index`` (``report/styles.css`` has eight colours)."""
    return f"fd-class-{int(index) % 8}"


def class_legend_html(classes: Sequence[str]) -> str:
    """``■ name`` per class, each square in its class colour."""
    items = [
        f'<span class="fd-swatch {class_css(k)}">■</span> {esc(name)}'
        for k, name in enumerate(classes)
    ]
    return '<span class="fd-legend">' + ", ".join(items) + "</span>"
