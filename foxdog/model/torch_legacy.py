"""Read a PyTorch state dict saved in the legacy (non-zip) ``.pth`` format, without torch.

The legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``,
the default before torch 1.6) is five things back to back:

1. a pickled magic number, 2. a pickled protocol version (1001), 3. a pickled
``sys_info`` dict (byte order and type sizes), 4. the pickled object itself, in
which every tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, ...)`` and every storage is a *persistent id* ``("storage", <type>,
key, location, numel, view)``, 5. the pickled list of storage keys, followed,
for each key in that order, by an 8-byte little-endian element count and the
storage's raw little-endian bytes.

Only what a state dict needs is accepted: the unpickler resolves exactly
``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and the
``torch.<Type>Storage`` classes, and refuses every other pickled global (a
pickle can otherwise run any callable it names). Anything unexpected
(zip-format file, truncated file, unknown storage type, strides reaching past
their storage) raises :class:`~foxdog.errors.WeightsError` naming the file.
"""

from __future__ import annotations

import collections
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from foxdog.errors import WeightsError

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
#: ``torch.<name>`` storage classes -> the little-endian numpy dtype of their bytes.
STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class _StorageType:
    name: str  # e.g. "FloatStorage"


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_rest) -> _TensorRef:
    # The rest (requires_grad, backward hooks, metadata) means nothing for inference.
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor built from something that is not a storage")
    return _TensorRef(storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride)))


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickler that knows storages and tensors, and nothing else."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name.endswith("Storage"):
            if name not in STORAGE_DTYPES:
                raise pickle.UnpicklingError(f"unknown storage type torch.{name}")
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refuses to load the pickled global {module}.{name}")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unknown storage type {storage_type!r:.80}")
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        storage = _Storage(str(key), STORAGE_DTYPES[storage_type.name], int(numel))
        known = self.storages.setdefault(storage.key, storage)
        if known != storage:
            raise pickle.UnpicklingError(f"storage {key} is declared twice, differently")
        return known


class _PlainUnpickler(pickle.Unpickler):
    """Unpickler for the header records and the key list: no globals at all."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refuses to load the pickled global {module}.{name}")


def _read_exact(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise EOFError(f"expected {n} more bytes, found {len(data)}")
    return data


def _tensor(ref: _TensorRef, buffers: dict[str, np.ndarray]) -> np.ndarray:
    if ref.storage.key not in buffers:
        raise pickle.UnpicklingError(f"storage {ref.storage.key} has no data")
    flat = buffers[ref.storage.key]
    if len(ref.shape) != len(ref.stride) or min(ref.shape, default=1) < 0 or ref.offset < 0:
        raise pickle.UnpicklingError(f"bad tensor geometry {ref.shape} / {ref.stride}")
    if min(ref.shape, default=1) == 0:
        return np.zeros(ref.shape, dtype=flat.dtype.newbyteorder("="))
    if min(ref.stride, default=0) < 0:
        raise pickle.UnpicklingError(f"negative stride {ref.stride}")
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
    if last >= len(flat):
        raise pickle.UnpicklingError(
            f"tensor {ref.shape} reaches element {last} of a {len(flat)}-element storage"
        )
    strides = tuple(s * flat.itemsize for s in ref.stride)
    view = np.lib.stride_tricks.as_strided(flat[ref.offset :], ref.shape, strides, writeable=False)
    # A native-byte-order, contiguous copy that owns its memory.
    return np.ascontiguousarray(view, dtype=flat.dtype.newbyteorder("="))


def read_state_dict(fh: BinaryIO) -> dict[str, np.ndarray]:
    """The ``name -> array`` state dict in ``fh`` (legacy format); raises on anything else."""
    if fh.read(4) == _ZIP_MAGIC:
        raise pickle.UnpicklingError(
            "zip-format checkpoint (torch >= 1.6 default); only the legacy format is supported"
        )
    fh.seek(0)
    header = _PlainUnpickler(fh)
    if header.load() != MAGIC_NUMBER:
        raise pickle.UnpicklingError("not a PyTorch legacy file (wrong magic number)")
    if (version := header.load()) != PROTOCOL_VERSION:
        raise pickle.UnpicklingError(f"unsupported protocol version {version!r}")
    sys_info = header.load()
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise pickle.UnpicklingError("not written on a little-endian machine")
    unpickler = _StateDictUnpickler(fh)
    state = unpickler.load()
    keys = _PlainUnpickler(fh).load()
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise pickle.UnpicklingError("storage key list is not a list of strings")
    buffers: dict[str, np.ndarray] = {}
    for key in keys:
        storage = unpickler.storages.get(key)
        if storage is None:
            raise pickle.UnpicklingError(f"storage {key} is not used by any tensor")
        (count,) = np.frombuffer(_read_exact(fh, 8), dtype="<i8")
        if count != storage.numel:
            raise pickle.UnpicklingError(
                f"storage {key} holds {count} elements, its tensors expect {storage.numel}"
            )
        raw = _read_exact(fh, int(count) * storage.dtype.itemsize)
        buffers[key] = np.frombuffer(raw, dtype=storage.dtype)
    if fh.read(1):
        raise pickle.UnpicklingError("unexpected bytes after the last storage")
    if not isinstance(state, dict):
        raise pickle.UnpicklingError(f"holds a {type(state).__name__}, not a state dict")
    out: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not (isinstance(name, str) and isinstance(ref, _TensorRef)):
            raise pickle.UnpicklingError(f"entry {name!r:.80} is not a named tensor")
        out[name] = _tensor(ref, buffers)
    return out


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read the legacy-format PyTorch state dict at ``path`` as numpy arrays.

    Raises :class:`~foxdog.errors.WeightsError` (``"<path>: <what is wrong>"``)
    for a file that is not exactly that: zip format, truncated, a pickled global
    other than the tensor and storage constructors, an unknown storage type.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return read_state_dict(fh)
    except (pickle.PickleError, EOFError, ValueError, TypeError, IndexError, KeyError) as err:
        what = "truncated file" if isinstance(err, EOFError) else str(err).splitlines()[0]
        raise WeightsError(f"{path}: not a readable legacy PyTorch state dict ({what})") from None
