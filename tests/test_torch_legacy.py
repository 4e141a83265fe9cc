"""The legacy PyTorch reader on generated files: values, views, and every refusal."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from torch_legacy_writer import Tensor, write_legacy, write_state_dict

from foxdog.errors import WeightsError
from foxdog.model.torch_legacy import load_state_dict


def test_reads_every_tensor_with_its_dtype_and_shape(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "conv.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
        "bn.running_var": rng.uniform(size=7).astype(np.float32),
        "bn.num_batches_tracked": np.array([12345678901], dtype=np.int64),
        "half": rng.normal(size=(2, 5)).astype(np.float16),
        "double": rng.normal(size=3),
        "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    state = load_state_dict(write_state_dict(tmp_path / "w.pth", arrays))
    assert list(state) == list(arrays)
    for name, arr in arrays.items():
        assert state[name].dtype == arr.dtype and state[name].shape == arr.shape, name
        np.testing.assert_array_equal(state[name], arr)


def test_views_of_one_storage_honour_offset_and_stride(tmp_path: Path) -> None:
    flat = np.arange(20, dtype=np.float32)
    tensors = {
        "whole": Tensor("s", 0, (4, 5), (5, 1)),
        "transposed": Tensor("s", 0, (5, 4), (1, 5)),
        "tail": Tensor("s", 12, (2, 3), (4, 1)),
    }
    state = load_state_dict(write_legacy(tmp_path / "v.pth", tensors, {"s": flat}))
    np.testing.assert_array_equal(state["whole"], flat.reshape(4, 5))
    np.testing.assert_array_equal(state["transposed"], flat.reshape(4, 5).T)
    np.testing.assert_array_equal(state["tail"], [[12, 13, 14], [16, 17, 18]])
    assert state["transposed"].flags.c_contiguous and state["transposed"].flags.owndata


def test_truncated_file_is_refused_naming_it(tmp_path: Path) -> None:
    arrays = {"a": np.ones((8, 8), np.float32), "b": np.zeros(3, np.int64)}
    full = write_state_dict(tmp_path / "full.pth", arrays).read_bytes()
    # Cut inside the header, inside the state dict pickle, and inside the raw bytes.
    for cut in (10, len(full) // 3, len(full) - 5):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(full[:cut])
        with pytest.raises(WeightsError, match=rf"^{path}: .*truncated"):
            load_state_dict(path)


def test_trailing_bytes_and_tensors_past_their_storage_are_refused(tmp_path: Path) -> None:
    path = write_state_dict(tmp_path / "t.pth", {"a": np.ones(4, np.float32)})
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(WeightsError, match="after the last storage"):
        load_state_dict(path)
    over = {"a": Tensor("s", 2, (4,), (1,))}
    path = write_legacy(tmp_path / "o.pth", over, {"s": np.ones(5, np.float32)})
    with pytest.raises(WeightsError, match="reaches element 5 of a 5-element storage"):
        load_state_dict(path)


def test_zip_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.pth"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(WeightsError, match=rf"^{path}: .*zip-format"):
        load_state_dict(path)


def test_unknown_storage_type_is_refused(tmp_path: Path) -> None:
    tensors = {"q": Tensor("s", 0, (4,), (1,))}
    path = write_legacy(
        tmp_path / "q.pth",
        tensors,
        {"s": np.zeros(4, np.uint8)},
        storage_types={"s": "QUInt8Storage"},
    )
    with pytest.raises(WeightsError, match=r"unknown storage type torch\.QUInt8Storage"):
        load_state_dict(path)


class _Hostile:
    """Unpickles as a call to ``os.system``: what a malicious weight file would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def test_pickled_globals_outside_the_whitelist_are_never_called(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    tensors = {"a": Tensor("s", 0, (1,), (1,)), "evil": _Hostile(marker)}
    path = write_legacy(tmp_path / "evil.pth", tensors, {"s": np.ones(1, np.float32)})
    with pytest.raises(
        WeightsError, match=r"refuses to load the pickled global (posix|os)\.system"
    ):
        load_state_dict(path)
    assert not marker.exists()


def test_the_wheels_imagenet_weights_are_read_whole() -> None:
    from foxdog.model.effnet import weights_path

    state = load_state_dict(weights_path())
    weights = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    # ARCHITECTURE.md's count for EfficientNet-Lite0: 296 tensors, 4.69 M parameters.
    assert len(state) == 296
    assert sum(v.size for v in weights.values()) == 4_694_024
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in weights.values())
