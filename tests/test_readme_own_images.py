"""The README's own-images short look, run as written, on ~400 photo-like images.

The commands between ``<!-- own-images:start -->`` and ``<!-- own-images:end -->`` in
README.md are run in bash exactly as printed, with their placeholders substituted
(this repository, a generated folder of photos, its two class names). Two things
are added, and only these: after the clone, the clone's ``.venv`` borrows this
checkout's environment (its ``activate`` script linked, ``make install`` found up to
date), so the test does not reinstall jax offline; and the ``foxdog study`` line gets
smaller training knobs through its documented ``-S key=value`` flag, so the whole
look takes a few minutes on CI's two cores. The test fails if no site is written.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("meadow", "harbour")
PER_CLASS = 200
KNOBS = ("train.steps=40", "train.epochs=15")  # ~150 full-pool baseline steps
# Odd but real-world file names: spaces, brackets, '#', accents, upper-case suffixes.
NAMES = ("IMG_{:04d} (copy).JPG", "été #{}.jpeg", "DSC {} - final[1].jpg", "photo_{}.JPEG")


def readme_commands() -> list[str]:
    """The short look's command lines, as the README prints them."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- own-images:start -->")[1].split("<!-- own-images:end -->")[0]
    code = block.split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in code.splitlines() if line.strip()]


def photo(kind: str, rng: np.random.Generator) -> Image.Image:
    """A photo-sized picture: warm blobs over a green-to-sky gradient, or cool stripes and
    boxes; both with texture and sensor noise, at 400-1200 px a side."""
    width, height = (int(v) for v in rng.integers(400, 1201, 2))
    y = np.linspace(0, 1, height)[:, None, None]
    if kind == "meadow":
        top, bottom = (
            rng.uniform([90, 140, 200], [140, 190, 255]),
            rng.uniform([40, 110, 20], [90, 170, 60]),
        )
    else:
        top, bottom = (
            rng.uniform([150, 160, 170], [200, 210, 220]),
            rng.uniform([20, 40, 80], [60, 80, 130]),
        )
    base = (top + (bottom - top) * y) * np.ones((height, width, 3))
    image = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 12))):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(0.05, 0.3) * width, rng.uniform(0.05, 0.3) * height
        if kind == "meadow":
            colour = tuple(int(c) for c in rng.uniform([180, 60, 20], [255, 200, 90]))
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        else:
            colour = tuple(int(c) for c in rng.uniform([30, 50, 90], [120, 140, 200]))
            draw.rectangle([x0, y0, x0 + w, y0 + h / 3], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3))))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 8, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def make_photos(root: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True)
        for i in range(PER_CLASS):
            name = NAMES[i % len(NAMES)].format(i)
            photo(kind, rng).save(root / kind / name, "JPEG", quality=int(rng.integers(70, 95)))


def script(commands: list[str], photos: Path) -> str:
    """The README's lines with placeholders substituted, plus the two additions above."""
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    lines = ["set -euo pipefail"]
    for line in commands:
        line = line.replace("<this-repository>", shlex.quote(str(REPO)))
        line = line.replace("<photos>", shlex.quote(str(photos)))
        line = line.replace("<class-a> <class-b>", " ".join(CLASSES))
        assert "<" not in line, f"a placeholder the test does not know: {line}"
        if line.startswith("foxdog study"):
            line += "".join(f" -S {knob}" for knob in KNOBS)
        lines.append(line)
        if line.startswith("git clone"):
            # This checkout's commit (a worktree's clone starts on the main branch), and
            # its environment instead of a fresh install.
            lines += [
                f"git checkout -q {head}",
                "mkdir -p .venv/bin",
                f"ln -s {shlex.quote(str(Path(sys.prefix) / 'bin' / 'activate'))} "
                ".venv/bin/activate",
                "touch .venv/bin/.installed",
            ]
    return "\n".join(lines) + "\n"


def test_readme_short_look_writes_a_site(tmp_path: Path) -> None:
    commands = readme_commands()
    assert any(line.startswith("git clone") for line in commands)
    assert any(line.startswith("foxdog study") and "--quick" in line for line in commands)
    photos = tmp_path / "my photos"
    make_photos(photos)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        ["bash", "-c", script(commands, photos)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    clone = work / "foxdog-photos"
    site = clone / "_site"
    assert (site / "index.html").is_file(), output[-4000:]
    for page in ("dataset", "experiments", "gallery", "insights", "method"):
        assert (site / f"{page}.html").is_file(), page
    assert "Traceback" not in output
    # Nothing from scratch needs an encoder or the corpus: neither was made.
    assert "Running stage 'pretrain" not in output
    assert not (clone / "curated_pretrain").exists()
    # params.yaml keeps the two data keys; the quick look's settings were for that run.
    diff = subprocess.run(
        ["git", "diff", "-U0", "params.yaml"], cwd=clone, capture_output=True, text=True
    ).stdout
    changed = [
        line
        for line in diff.splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    # The data keys, and the balance axis's rare class (the user's rarest) and condition names.
    keys = ("raw_dir", "classes", "rare_class", "conditions")
    assert len(changed) == 8 and all(any(k in c for k in keys) for c in changed), diff
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "meadow" in index and "harbour" in index
