"""Write PyTorch's legacy (non-zip) ``.pth`` format with pickle alone, for tests (torch is absent).

The layout is the one ``torch.save(obj, f, _use_new_zipfile_serialization=False)``
writes (see :mod:`foxdog.model.torch_legacy`): magic number, protocol version,
sys_info, the state dict pickle (tensors as ``torch._utils._rebuild_tensor_v2``
calls on storages given as persistent ids), the sorted storage keys, then each
storage's element count and raw little-endian bytes.
"""

from __future__ import annotations

import contextlib
import pickle
import struct
import sys
import types
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foxdog.model.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, STORAGE_DTYPES

SYS_INFO = {
    "protocol_version": PROTOCOL_VERSION,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 4},
}


@dataclass(frozen=True)
class Tensor:
    """A tensor as torch pickles it: a view (offset, shape, stride in elements) of a storage."""

    key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


@contextlib.contextmanager
def _stand_in_torch(extra_storages: tuple[str, ...]) -> Iterator[types.SimpleNamespace]:
    # pickle writes a global as "module name" only after checking that the name
    # resolves to the same object; torch is not installed, so stand-ins take its
    # place in sys.modules while the file is written, and leave afterwards.
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: object) -> None:
        raise AssertionError("a stand-in: never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    classes = {}
    for name in (*STORAGE_DTYPES, *extra_storages):
        classes[name] = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch, name, classes[name])
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield types.SimpleNamespace(rebuild=_rebuild_tensor_v2, storages=classes)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def write_legacy(
    path: Path,
    tensors: Mapping[str, Tensor | object],
    storages: Mapping[str, np.ndarray],
    *,
    storage_types: Mapping[str, str] | None = None,
) -> Path:
    """Write ``tensors`` (views of the flat ``storages``) to ``path`` in the legacy format.

    ``storage_types`` overrides a storage's ``torch.<Type>Storage`` name (to write
    an unknown one); a value of ``tensors`` that is not a :class:`Tensor` is
    pickled as it is (to write a hostile global).
    """
    storage_types = dict(storage_types or {})
    by_dtype = {dtype.str.lstrip("<|="): name for name, dtype in STORAGE_DTYPES.items()}
    names = {
        key: storage_types.get(key) or by_dtype[np.dtype(arr.dtype).str.lstrip("<|=")]
        for key, arr in storages.items()
    }
    with _stand_in_torch(tuple(set(names.values()) - set(STORAGE_DTYPES))) as torch:

        class StorageRef:
            def __init__(self, key: str) -> None:
                self.key = key

        class TensorObj:
            def __init__(self, spec: Tensor) -> None:
                self.spec = spec

            def __reduce__(self) -> tuple:
                s = self.spec
                args = (StorageRef(s.key), s.offset, s.shape, s.stride, False, OrderedDict())
                return torch.rebuild, args

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj: object) -> tuple | None:
                if isinstance(obj, StorageRef):
                    cls = torch.storages[names[obj.key]]
                    return ("storage", cls, obj.key, "cpu", storages[obj.key].size, None)
                return None

        state = OrderedDict(
            (name, TensorObj(t) if isinstance(t, Tensor) else t) for name, t in tensors.items()
        )
        with open(path, "wb") as fh:
            for record in (MAGIC_NUMBER, PROTOCOL_VERSION, SYS_INFO):
                pickle.dump(record, fh, protocol=2)
            Pickler(fh, protocol=2).dump(state)
            keys = sorted(storages)
            pickle.dump(keys, fh, protocol=2)
            for key in keys:
                flat = np.ascontiguousarray(storages[key]).ravel()
                fh.write(struct.pack("<q", flat.size))
                fh.write(flat.astype(flat.dtype.newbyteorder("<")).tobytes())
    return path


def write_state_dict(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``name -> array`` as torch would: one contiguous storage per tensor."""
    tensors, storages = {}, {}
    for i, (name, arr) in enumerate(arrays.items()):
        key = str(94_000_000 + i)  # torch uses the storages' memory addresses as keys
        arr = np.asarray(arr)
        strides = tuple(s // arr.itemsize for s in np.ascontiguousarray(arr).strides)
        tensors[name] = Tensor(key, 0, arr.shape, strides)
        storages[key] = arr.ravel()
    return write_legacy(path, tensors, storages)
