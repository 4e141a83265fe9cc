"""The Dataset page's sections, as display objects: the collection, its sources and credits.

``report/dataset.qmd`` calls one function per section and displays what it returns; the
numbers come from ``curated/datasheet.json`` and ``curated/manifest.csv`` (and, for the
pretraining corpus, ``curated_pretrain/``), read through :mod:`foxdog.site.inputs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from foxdog.site import fmt, inputs, markup, pages

Shown = list[Any]  # what a section displays, in order: Markdown or HTML

# Provenance of each source folder, from foxdog-raw/PROVENANCE.md.
ORIGINS = {
    "randomfox_ca": "randomfox.ca photo collection (github.com/xinitrc-dev/randomfox.ca)",
    "awa2_begert": "Animals with Attributes 2, via github.com/begert/deepl-data",
    "miniimagenet_84px": "mini-ImageNet (84×84), via github.com/Deo0330/split_minidataset",
    "imagewoof2_320": "Imagewoof v2 (ImageNet dog breeds), via github.com/q878787/imagewoof2-320",
}

# Credits per source folder (foxdog-raw/PROVENANCE.md); only the sources in this collection.
CREDITS = {
    "randomfox_ca": "**randomfox.ca** — photos collected by xinitrc; please credit "
    "[randomfox.ca](https://randomfox.ca) when you reuse them.",
    "awa2_begert": "**Animals with Attributes 2** (Xian et al., 2018, *Zero-Shot Learning — A "
    "Comprehensive Evaluation of the Good, the Bad and the Ugly*, TPAMI) — the images carry "
    "their individual web licences.",
    "imagewoof2_320": "**Imagewoof** (Jeremy Howard / fast.ai; ImageNet-derived) — ImageNet "
    "terms of access: **non-commercial research and education only**.",
    "miniimagenet_84px": "**mini-ImageNet** (Vinyals et al., *Matching Networks for One Shot "
    "Learning*, NeurIPS 2016; ImageNet-derived) — ImageNet terms of access: "
    "**non-commercial research and education only**.",
}


SPLIT_NAMES = {"pool": "pool", "val": "validation", "test": "test"}


def split_table(by_split: Mapping[str, Mapping[str, int]], classes: Sequence[str]) -> pd.DataFrame:
    """One row per split (pool, validation, test, then any other): images per class and in all."""
    order = [s for s in SPLIT_NAMES if s in by_split] + sorted(set(by_split) - set(SPLIT_NAMES))
    rows = []
    for name in order:
        row: dict[str, Any] = {"split": SPLIT_NAMES.get(name, name)}
        row.update({str(c): int(by_split[name].get(c, 0)) for c in classes})
        row["images"] = sum(int(v) for v in by_split[name].values())
        rows.append(row)
    return pd.DataFrame(rows, columns=["split", *[str(c) for c in classes], "images"])


def leakage_sentence(overlap: Mapping[str, Any], starts_: Sequence[str] | None = None) -> str:
    """What ``curated_pretrain/overlap.json`` found, in one sentence (Markdown).

    Near-duplicates found are dropped from the corpus, so finding some is not a failure;
    with ``starts_`` (``active.starts``) that use no pretrained encoder, the check is
    described as not concerning this study.
    """
    found = int(overlap.get("near_duplicates", 0))
    closest = overlap.get("min_distance")
    bits = int(overlap.get("hash_size", 0)) ** 2
    closest_words = (
        f"the closest pair is {fmt.plural(closest, 'bit')} apart"
        if closest is not None
        else "no pair was compared"
    )
    dropped = "those corpus images dropped" if found else "passed"
    verdict = (
        "not used by this study" if starts_ is not None and not uses_corpus(starts_) else dropped
    )
    prefix = (
        f"No starting model of this study ({fmt.join_words(list(starts_))}) was pretrained on the "
        "corpus, so nothing here affects its results. "
        if verdict == "not used by this study"
        else ""
    )
    return (
        prefix
        + (
            f"Leakage check ({verdict}): the {bits}-bit perceptual hash of every one of the "
            f"{fmt.integer(overlap.get('corpus_images'))} corpus images was compared with every "
            f"one of the {fmt.integer(overlap.get('foxdog_images'))} curated images of the study; "
            f"{fmt.plural(found, 'near-duplicate')} within the threshold of Hamming distance "
            f"≤ {overlap.get('max_hash_distance')} ({closest_words}). "
            + ("Those corpus images were dropped." if found else "")
        ).strip()
    )


def uses_corpus(starts_: Sequence[str]) -> bool:
    """Whether any start fine-tunes an encoder pretrained on the corpus."""
    return any(s != "scratch" for s in starts_)


#: WordNet ids of ImageNet's dog, wolf, wild-dog and fox classes (n02085620 Chihuahua …
#: n02120505 grey fox): the range pretrain-raw/PROVENANCE.md says the corpus leaves out.
CANINE_WNIDS = ("n02085000", "n02120999")


def canine_classes(wnids: Iterable[str]) -> list[str]:
    """The ``wnids`` inside :data:`CANINE_WNIDS`: classes that are dogs, wolves or foxes."""
    low, high = CANINE_WNIDS
    return sorted(w for w in wnids if low <= str(w) <= high)


def _sheet() -> dict[str, Any]:
    return inputs.read_json("curated", "datasheet.json")


def _classes(sheet: dict[str, Any]) -> list[str]:
    return [str(c) for c in sheet.get("classes") or pages.class_names()]


def collection() -> Shown:
    """How many photos of which classes, how they were prepared, and the splits."""
    sheet = _sheet()
    manifest = inputs.read_csv("curated", "manifest.csv")
    classes = _classes(sheet)
    counts = sheet["counts"]
    kept = counts["kept"]
    n_kept = sum(int(kept.get(c, 0)) for c in classes)
    size = sheet["image_size"]
    split = counts["by_split"]
    n_pool = sum(split.get("pool", {}).values())
    n_test = sum(split.get("test", {}).values())
    n_val = sum(split.get("val", {}).values())
    val_words = f", the **validation** split {fmt.integer(n_val)}" if "val" in split else ""
    per_class = fmt.join_words(
        [
            f"{fmt.integer(kept.get(c, 0))} *{c}* ({fmt.pct(kept.get(c, 0) / max(n_kept, 1))})"
            for c in classes
        ]
    )
    return [
        Markdown(
            f"The curated collection holds **{fmt.integer(n_kept)} photographs** of "
            f"{fmt.plural(len(classes), 'class', 'classes')}: {per_class}, from "
            f"{fmt.plural(manifest['source'].nunique(), 'source')}. "
            f"Every photo was decoded by content, oriented, converted to RGB and resized to "
            f"{size}×{size} pixels; {fmt.integer(counts.get('dropped', 0))} candidate files were "
            f"dropped. The active-learning **pool** has {fmt.integer(n_pool)} images{val_words} "
            f"and the held-out **test** split {fmt.integer(n_test)}; the splits are made by "
            f"near-duplicate group, so near-identical photos never sit on two sides."
        ),
        Markdown(
            "The validation split is carved from the pool before any run starts and is never "
            "queried or trained on: it serves for tuning and as the stopping rule's stop set "
            "(its predictions only), so the test split stays untouched until the final numbers."
        )
        if "val" in split
        else Markdown("This collection has no validation split (`curated/val_*.npy` absent)."),
    ]


def sources() -> HTML:
    """Images per label and source after curation, with each source's origin."""
    by_source = pd.DataFrame(_sheet()["counts"]["by_source"])
    by_source["origin"] = by_source["source"].map(ORIGINS).fillna("see SOURCES.csv")
    return HTML(
        markup.html_table(
            by_source,
            {
                "label": "label",
                "source": "source",
                "kept": "kept",
                "dropped": "dropped",
                "pool": "pool",
                **({"val": "validation"} if "val" in by_source else {}),
                "test": "test",
                "origin": "origin",
            },
            {c: fmt.integer for c in ("kept", "dropped", "pool", "val", "test")},
            caption="Images per label and source after curation",
        )
    )


def splits() -> HTML:
    """Images per class in each split."""
    sheet = _sheet()
    table = split_table(sheet["counts"]["by_split"], _classes(sheet))
    return HTML(
        markup.html_table(
            table,
            formats={c: fmt.integer for c in [*_classes(sheet), "images"]},
            caption=f"Images per class in the {fmt.join_words(list(table['split']))} splits, "
            "stratified by label and source",
        )
    )


def breeds() -> HTML:
    """Per class, the breeds or species it holds and their image counts."""
    sheet = _sheet()
    by_breed = pd.DataFrame(sheet["counts"]["by_breed"]).sort_values("images", ascending=False)
    tables = []
    for label in _classes(sheet):
        part = by_breed[by_breed["label_name"] == label]
        if part.empty:
            continue
        table = markup.html_table(
            part,
            {"breed": f"{label}: breed or species", "images": "images"},
            {"images": fmt.integer},
            caption=f"{fmt.plural(len(part), 'kind')} of {label}",
        )
        # Long lists scroll inside their box instead of stretching the page.
        tables.append(f'<div class="fd-scroll">{table}</div>' if len(part) > 12 else table)
    return HTML('<div class="fd-row">' + "".join(tables) + "</div>")


def _drop_reasons(sheet: dict[str, Any]) -> pd.DataFrame:
    """Dropped files per label and reason."""
    counts = sheet["counts"]
    if "dropped_by_reason" in counts:
        return pd.DataFrame(counts["dropped_by_reason"], columns=["label", "reason", "images"])
    # Older datasheets: summarise the dropped list by the reason's first clause.
    dropped = pd.DataFrame(sheet.get("dropped", []), columns=["path", "label", "source", "reason"])
    dropped["reason"] = dropped["reason"].str.replace(r"\s*[:(].*$", "", regex=True)
    return dropped.groupby(["label", "reason"]).size().reset_index(name="images")


def _formats(sheet: dict[str, Any], manifest: pd.DataFrame) -> Shown:
    """How the raw files differ by class (format, resolution), and the formats table."""
    counts, size = sheet["counts"], sheet["image_size"]
    by_format = pd.DataFrame(counts["by_format"])
    short = manifest.assign(short=manifest[["width", "height"]].min(axis=1))
    short = short.groupby("label_name")["short"].agg(["min", "max"])

    def describe(label: str) -> str:
        formats = fmt.join_words(sorted(by_format.loc[by_format["label_name"] == label, "format"]))
        low, high = fmt.integer(short.loc[label, "min"]), fmt.integer(short.loc[label, "max"])
        return f"{label} as {formats} with a shorter side of {low}–{high} px"

    described = [describe(c) for c in _classes(sheet) if c in short.index]
    return [
        Markdown(
            f"The raw files differ by class — {fmt.join_words(described)} — so every image is "
            f"decoded by its content (not its file extension) and resized to {size}×{size}: "
            "neither format nor resolution can leak the label to the model."
        ),
        HTML(
            markup.html_table(
                pd.DataFrame(counts["by_format"]),
                {"label_name": "label", "format": "original format", "images": "images"},
                {"images": fmt.integer},
                caption="Original file formats",
            )
        ),
    ]


def curation() -> Shown:
    """What curation removed and why: groups, conflicts, drop reasons, formats, warnings."""
    sheet = _sheet()
    manifest = inputs.read_csv("curated", "manifest.csv")
    counts = sheet["counts"]
    reasons = _drop_reasons(sheet)
    conflicts = sheet.get("label_conflicts", [])
    distance = sheet.get("params", {}).get("max_hash_distance")
    how = f"perceptual-hash distance ≤ {distance}" if distance is not None else "perceptual hash"
    notes = [
        f"{fmt.plural(sheet.get('near_duplicate_groups', 0), 'near-duplicate group')} "
        f"({how}, or burst series) kept together, out of {fmt.integer(sheet.get('groups'))} "
        "groups in all: a group never straddles two splits.",
        f"{fmt.plural(len(conflicts), 'label conflict')} (a near-duplicate group holding more "
        f"than one label): {'dropped, every side' if conflicts else 'none found'}.",
    ]
    if sheet.get("missing_files"):
        notes.append(
            f"{fmt.plural(len(sheet['missing_files']), 'file')} listed in SOURCES.csv "
            "could not be found."
        )
    shown: Shown = [Markdown("\n".join(f"- {n}" for n in notes))]
    if len(reasons):
        shown.append(
            HTML(
                markup.html_table(
                    reasons.sort_values("images", ascending=False),
                    {"label": "label", "reason": "reason", "images": "files"},
                    {"images": fmt.integer},
                    caption="Dropped files by reason",
                )
            )
        )
    if "by_format" in counts:
        shown += _formats(sheet, manifest)
    shown += [
        HTML(f'<p class="fd-note">Curation warning: {fmt.esc(warning)}</p>')
        for warning in sheet.get("warnings", [])
    ]
    return shown


def contact_sheets() -> Shown:
    """One contact sheet of real kept photographs per class, or a note of which are absent."""
    sheet = _sheet()
    classes = _classes(sheet)
    sheets, absent = [], []
    names = sheet.get("contact_sheets") or [f"contact_{c}.png" for c in classes]
    for c, name in zip(classes, names, strict=False):
        relpath = f"curated/{name}"
        if inputs.path(relpath).is_file():
            sheets.append(markup.image_file_html(relpath, f"contact sheet of {c} photos", c))
        else:
            absent.append(relpath)
    shown: Shown = [HTML('<div class="fd-sheets">' + "".join(sheets) + "</div>")]
    if absent:
        shown.append(
            Markdown(
                f"*No contact sheet for {fmt.join_words([f'`{a}`' for a in absent])} "
                "(`dvc repro curate` makes one per class).*"
            )
        )
    return shown


def _study_starts() -> tuple[str, ...]:
    """The study's starting models, as the analysis recorded them (``active.starts``)."""
    return inputs.analysed_params().active.starts


def pretraining_corpus() -> Shown:
    """The pretraining corpus: whether the study uses it, its size, and the leakage checks."""
    corpus = inputs.optional_json("curated_pretrain", "datasheet.json")
    overlap = inputs.optional_json("curated_pretrain", "overlap.json")
    study_starts = _study_starts()
    uses = uses_corpus(study_starts)
    shown: Shown = []
    if not uses:
        shown.append(
            Markdown(
                f"No starting model of this study ({fmt.esc(fmt.join_words(list(study_starts)))}) "
                "is pretrained: the corpus that pretrains the `transfer` and `selfsup` encoders "
                "plays no part in its results."
            )
        )
    if corpus is None and uses:
        shown.append(
            Markdown(
                "*The curated corpus is absent in this project (`curated_pretrain/datasheet.json` "
                "not found; `dvc repro pretrain_data` makes it).*"
            )
        )
    elif corpus is not None:
        per_class = corpus.get("per_class", {})
        lo, hi = per_class.get("min"), per_class.get("max")
        each = fmt.integer(lo) if lo == hi else f"{fmt.integer(lo)}–{fmt.integer(hi)}"
        shown.append(
            Markdown(
                "A separate corpus of real photographs exists only to pretrain the encoders of "
                "the `transfer` and `selfsup` starting models (see the [Method](method.html) "
                "page): classes of mini-ImageNet (Vinyals et al. 2016, the 84×84 px version) "
                "with every dog, wolf, wild-dog and fox class removed "
                "(`pretrain-raw/PROVENANCE.md`). After curation (same checks as the study's "
                f"photos, resized to {corpus.get('image_size')}×{corpus.get('image_size')}) it "
                f"holds **{fmt.integer(corpus.get('kept'))} images** in "
                f"{fmt.plural(corpus.get('classes'), 'class', 'classes')} ({each} per class); "
                f"{fmt.plural(len(corpus.get('dropped', [])), 'file')} dropped."
            )
        )
    classes_file = inputs.optional_json("curated_pretrain", "classes.json")
    if classes_file is not None:
        canine = canine_classes(classes_file)
        low, high = CANINE_WNIDS
        shown.append(
            Markdown(
                "Checked on `curated_pretrain/classes.json`: "
                + (
                    f"none of its {fmt.plural(len(classes_file), 'class', 'classes')} lies in "
                    f"the WordNet dog, wolf and fox range {low}–{high}."
                    if not canine
                    else f"**{fmt.plural(len(canine), 'class', 'classes')} in the WordNet dog, "
                    f"wolf and fox range {low}–{high}**: {fmt.esc(fmt.join_words(canine))}."
                )
            )
        )
    if overlap is None and uses:
        shown.append(
            Markdown(
                "*The leakage check is absent (`curated_pretrain/overlap.json` not found), so no "
                "transfer result should be trusted yet.*"
            )
        )
    elif overlap is not None:
        shown.append(Markdown(leakage_sentence(overlap, study_starts)))
    return shown


def credits() -> Markdown:
    """Licences and credits of the sources in this collection (and of the corpus)."""
    manifest = inputs.read_csv("curated", "manifest.csv")
    corpus = inputs.optional_json("curated_pretrain", "datasheet.json")
    present = sorted(set(manifest["source"].astype(str)))
    lines = [f"- {CREDITS[s]}" for s in present if s in CREDITS]
    unknown = [s for s in present if s not in CREDITS]
    if unknown:
        lines.append(
            f"- {fmt.esc(fmt.join_words(unknown))}: no credit recorded here; see the "
            "collection's `SOURCES.csv` for each file's origin."
        )
    if corpus is not None:
        lines.append(
            "- The pretraining corpus is mini-ImageNet (files from "
            "github.com/Deo0330/split_minidataset, which states no licence): ImageNet terms of "
            "access, **non-commercial research and education only**."
        )
    lines.append(
        "- Every image can be re-downloaded and checked against its origin: `SOURCES.csv` in "
        "the raw collection records the repository, commit, path and SHA-256 of each file "
        "(`foxdog data download` does this)."
    )
    return Markdown("\n".join(lines))
