"""Saved run states: machine kind, the fingerprint a state is keyed by, the state file.

The run state is saved atomically after every round; a re-run resumes from the
last completed round and, because every round is a pure function of (seed,
labelled indices), ends with exactly the records of an uninterrupted run. The
number of rounds is not part of a state's identity: the first k rounds of a
longer run are the k-round run, so a longer request extends a saved state and a
shorter one is served from its first rounds (see docs/formats.md).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np

from foxdog import io
from foxdog.active.protocol import RunSpec
from foxdog.data.arrays import Split

STATE_VERSION = 4  # 4: n_rare, rare_recall; condition in the fingerprint


# The model code an AL run executes (the al/ablate stages' DVC deps list the same files):
# pretraining and the baseline live beside them but cannot change a run's numbers.
AL_MODEL_FILES = ("cnn.py", "train.py", "estimator.py", "encoder.py", "head.py")


STATE_KEYS = (
    "version",
    "fingerprint",
    "machine",
    "spec",
    "rounds",
    "queries",
    "labelled",
    "val_pred",
)


# CPU features that change what XLA's CPU code computes, in the order they are named.
AVX512_EXTRAS = (
    ("avx512_vnni", "vnni"),
    ("avx512_bf16", "bf16"),
    ("avx512_fp16", "fp16"),
    ("amx_tile", "amx"),
)


def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    match = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.MULTILINE)
    return frozenset(match.group(1).split()) if match else frozenset()


@functools.cache
def machine_kind() -> str:
    """Short, stable name of what XLA compiles for: ``cpu:x86_64:avx2:1cpu``, ``gpu:NVIDIA H200``.

    The same program gives different floating-point results on different kinds
    (XLA's CPU code uses the widest vector unit and FMA it finds, and splits its
    sums over the cores the process may use), so the kind is part of a run's
    fingerprint and is written to ``rounds.csv``. The stages run every seed on one
    core (:mod:`foxdog.active.workers`): ``...:1cpu``.
    """
    import jax

    from foxdog.active.workers import core_count

    backend = jax.default_backend()
    if backend != "cpu":
        return f"{backend}:{jax.devices()[0].device_kind}"
    arch, flags = platform.machine(), _cpu_flags()
    if "avx512f" in flags:
        # LLVM tunes XLA's code for the host CPU model, not just its vector width:
        # two avx512 machines with and without these extensions were seen to differ
        # in the 8th digit of a round's log-loss, so they are different kinds.
        extras = [name for flag, name in AVX512_EXTRAS if flag in flags]
        tier = "-".join(["avx512", *extras])
    elif {"avx2", "fma"} <= flags:
        tier = "avx2"
    elif "sve" in flags:
        tier = "sve"
    elif "asimd" in flags or "neon" in flags:
        tier = "neon"
    else:
        tier = "base"
    return f"cpu:{arch}:{tier}:{core_count()}cpu"


def machine_slug(kind: str) -> str:
    """``machine_kind()`` as a folder name: ``cpu-x86_64-avx512``, ``gpu-NVIDIA-H200``."""
    return re.sub(r"[^A-Za-z0-9_.]+", "-", kind).strip("-")


def state_path(state_dir: Path, spec: RunSpec) -> Path:
    """Where the state of ``spec`` lives: ``<state_dir>/<machine>/<tag>/seed_<k>.json``.

    Machine kind and protocol are in the path, so no finished run of another
    machine or protocol is ever overwritten; ``rounds`` is not, so a longer run
    extends the shorter one in place.
    """
    return Path(state_dir) / machine_slug(machine_kind()) / spec.tag() / f"seed_{spec.seed}.json"


def estimator_identity(estimator_params: dict[str, Any]) -> dict[str, Any]:
    """The estimator's hyper-parameters with its encoder files replaced by the files' hashes.

    A re-trained encoder at the same path must invalidate every saved state that
    started from (or clustered with: ``embed_encoder``) the old one; a moved but
    identical file need not.
    """
    ident = dict(estimator_params)
    for key in ("encoder", "embed_encoder"):
        if not ident.get(key):
            continue
        path = Path(ident[key])
        if key == "embed_encoder" and not path.is_file():
            # Only TypiClust reads it (and says so when it is missing): a scratch-only
            # project without pretrained encoders runs every other strategy.
            ident[key] = "absent"
            continue
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: encoder not found (run `dvc repro pretrain`, or drop the "
                "pretrained starts from active.starts)"
            )
        ident[key] = f"sha256:{io.sha256_file(path)}"
    return ident


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def source_hash(source: str) -> str:
    """Hash of Python source that ignores comments, docstrings, blank lines and layout.

    It hashes ``ast.dump`` of the parsed module (no line numbers) after removing
    every docstring, so only edits that can change behaviour change the hash.
    """
    return hashlib.sha256(ast.dump(_strip_docstrings(ast.parse(source))).encode()).hexdigest()


def _in_code_set(module: str | None) -> bool:
    return module is not None and (
        module in ("foxdog.active", "foxdog.metrics")
        or module.startswith("foxdog.active.")
        or module in {f"foxdog.model.{name[:-3]}" for name in AL_MODEL_FILES}
    )


def statement_hashes(source: str) -> set[str]:
    """Hashes of a module's top-level statements, docstrings removed (:func:`source_hash`).

    Imports of modules inside the AL code set (:data:`AL_MODEL_FILES`, ``foxdog.active``,
    ``foxdog.metrics``) are left out: they say where a definition lives, not what it does.
    """
    out = set()
    for node in _strip_docstrings(ast.parse(source)).body:
        if isinstance(node, ast.ImportFrom) and _in_code_set(node.module):
            continue
        out.add(hashlib.sha256(ast.dump(node).encode()).hexdigest())
    return out


def code_version(package: Path | None = None) -> str:
    """Hash of the code whose behaviour a run's numbers depend on, and its key libraries.

    The same files as the ``al`` stage's DVC dependencies (``foxdog/model/`` ×
    :data:`AL_MODEL_FILES`, ``foxdog/active/*.py``, ``foxdog/metrics.py``), so a change
    that makes DVC re-run a stage also invalidates its saved states instead of silently
    resuming them. It hashes the set of their top-level statements
    (:func:`statement_hashes`), not the files: comments, docstrings, layout and which
    module of the set a definition lives in do not count; any change to code does.
    """
    import flax
    import jax
    import optax
    import sklearn

    package = Path(__file__).resolve().parents[1] if package is None else Path(package)
    files = [
        *(package / "model" / name for name in AL_MODEL_FILES),
        *(package / "active").glob("*.py"),
        package / "metrics.py",
    ]
    statements = set().union(*(statement_hashes(p.read_text(encoding="utf-8")) for p in files))
    digest = hashlib.sha256()
    for statement in sorted(statements):
        digest.update(statement.encode())
    for module in (jax, flax, optax, sklearn, np):
        digest.update(f"{module.__name__}=={module.__version__}".encode())
    return digest.hexdigest()


def fingerprint(
    spec: RunSpec,
    estimator_params: dict[str, Any],
    pool: Split,
    test: Split,
    val: Split | None = None,
) -> str:
    """Hash of everything a saved state depends on; a mismatch means start over.

    The protocol without ``rounds`` (:meth:`RunSpec.identity`), the estimator's
    hyper-parameters, the data (pixels included: a new resolution keeps the ids
    but changes every number), :func:`code_version` and :func:`machine_kind`.
    """
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [
                STATE_VERSION,
                spec.identity(),
                estimator_params,
                code_version(),
                machine_kind(),
                val is not None,
            ],
            sort_keys=True,
            default=str,
        ).encode()
    )
    for split in (pool, test) if val is None else (pool, test, val):
        for array in (split.ids, split.labels, split.images):
            digest.update(str((array.dtype, array.shape)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class StateError(ValueError):
    """A saved run state cannot be trusted; the message says why (one line)."""


def pack_predictions(pred: np.ndarray) -> str:
    # One byte per image: up to 256 classes (checked where the classes are read).
    return np.asarray(pred, dtype=np.uint8).tobytes().hex()


def unpack_predictions(text: str, n: int) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8)[:n].astype(np.int64)


def dumps_state(state: dict[str, Any]) -> str:
    """Compact JSON: one top-level key per line, arrays without spaces (diffable, ~4x smaller)."""
    lines = [
        f"{json.dumps(key)}:{json.dumps(state[key], separators=(',', ':'), sort_keys=True)}"
        for key in sorted(state)
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
