# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Open AMC datasets by their content and split them the way the paper does.

Layouts recognised (whatever the file is called):

- gr-eeamc HDF5 (``training.generate``): ``X`` float32 [N, 2, L], ``Y`` class index [N], ``Z`` SNR [N],
  attribute ``classes`` (list of names) and the generation parameters as further attributes.
- RML22 pickle: dict (modulation, snr) -> [n, 2, 128]; only the ten RML22 classes are kept, any other
  modulation key is ignored with a warning.
- RML2016.10a (and other RML2016) pickle, a Python 2 pickle read with ``encoding='latin1'``: the same
  dict layout, 11 modulations (adds AM-SSB), SNR -20..18. Recognised by its SNR range (no SNR above 18).
- RML2018.01A HDF5 (``GOLD_XYZ_OSC.0001_1024.hdf5``): ``X`` [N, 1024, 2], ``Y`` one-hot [N, 24],
  ``Z`` [N, 1]; names from the corrected class list. Each 1024-sample frame is split into 1024/L windows
  (``window_mode="split"``, the default) or cropped to its first L samples (``"crop"``).

Class names are spelled the project's way (RML22's): RML2018's ``16QAM`` becomes ``QAM16`` and so on.
Windows are returned as stored; ``attrs['normalization']`` says what the file already applied, and
training/evaluation normalise as the model expects (RML22's L1 normalisation is idempotent).

Pickles are read with a restricted unpickler that only builds numpy arrays and plain containers, so a
dataset file cannot run code.
"""

from __future__ import annotations

import math
import pickle
import warnings
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import h5py
import numpy as np
from gnuradio.eeamc import networks
from tqdm import tqdm

#: The ten RML22 classes in the authors' label order (index = label). The project's class order.
RML22_CLASSES: list[str] = list(networks.RML22_CLASSES)

#: RML2016.10a's modulations: RML22's ten plus AM-SSB (same spellings).
RML2016_CLASSES: list[str] = [*RML22_CLASSES, "AM-SSB"]

#: RML2018.01A's classes in the corrected order (the list shipped with the file is wrong), spelled our way.
RML2018_CLASSES: list[str] = [
    "OOK", "4ASK", "8ASK", "BPSK", "QPSK", "8PSK", "16PSK", "32PSK", "16APSK", "32APSK", "64APSK",
    "128APSK", "QAM16", "QAM32", "QAM64", "QAM128", "QAM256", "AM-SSB-WC", "AM-SSB-SC", "AM-DSB-WC",
    "AM-DSB-SC", "FM", "GMSK", "OQPSK",
]  # fmt: skip

#: Other spellings of the same modulation -> the project's spelling.
CLASS_ALIASES: dict[str, str] = {
    "16QAM": "QAM16",
    "32QAM": "QAM32",
    "64QAM": "QAM64",
    "128QAM": "QAM128",
    "256QAM": "QAM256",
}

SPLITS = ("train", "val", "test", "all")
#: What a split keeps together: "window" = the paper's per-window split; "stream" = every window cut from
#: one generated stream (one fading and offset realisation, one audio excerpt) in the same split; "auto" =
#: what the file says (its ``split_unit`` attribute: generate's robust profile says stream).
SPLIT_BY = ("auto", "window", "stream")
WINDOW_MODES = ("split", "crop")

#: Highest SNR in the RML2016 pickles; RML22 goes to 20 dB.
RML2016_MAX_SNR = 18

#: Rows read from an HDF5 file at a time, so converting RML2018 frames never doubles a huge read.
READ_CHUNK_ROWS = 65536


@dataclass
class Dataset:
    """Windows with their labels, in memory."""

    x: np.ndarray  # float32 [N, 2, L]
    y: np.ndarray  # int64 [N], index into classes
    snr: np.ndarray  # int64 [N], dB
    classes: list[str]
    source: str  # path of the file
    attrs: dict[str, Any]  # provenance: the file's attributes plus 'layout' (what the loader recognised)
    #: int64 [N]: the file record each window was cut from (RML2018 frames give several windows each);
    #: the split keeps one record's windows together so no frame is both trained and tested on.
    record: np.ndarray | None = field(default=None, repr=False)
    #: int64 [N]: the generated stream each window was cut from (files with a dataset ``S``), else None.
    stream: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, index: np.ndarray) -> Dataset:
        """The windows selected by ``index`` (integer indices or a boolean mask), as a new Dataset."""
        return replace(
            self,
            x=self.x[index],
            y=self.y[index],
            snr=self.snr[index],
            attrs=dict(self.attrs),
            record=None if self.record is None else self.record[index],
            stream=None if self.stream is None else self.stream[index],
        )

    @property
    def snrs(self) -> list[int]:
        """The SNRs present, ascending."""
        return [int(s) for s in np.unique(self.snr)]

    @property
    def length(self) -> int:
        """Samples per window."""
        return int(self.x.shape[2])


def load_dataset(
    path: str | Path,
    classes: Sequence[str] | None = None,
    snrs: Sequence[int] | None = None,
    length: int = 128,
    window_mode: str = "split",
    allow_missing_classes: bool = False,
) -> Dataset:
    """Open any supported dataset file by its content and keep the requested classes and SNRs.

    ``classes`` sets which classes are kept and their label order (``y`` indexes this list); None keeps
    the file's own classes (RML22's ten for an RML22 pickle). A class the file lacks is an error unless
    ``allow_missing_classes`` (then it keeps its label index but has no windows, which is what evaluating a
    model on another dataset needs). ``snrs`` None keeps every SNR. Windows longer than ``length`` are
    split into ``length``-sample windows or cropped (``window_mode``); shorter ones are an error.
    """
    path = Path(path)
    if window_mode not in WINDOW_MODES:
        raise ValueError(f"window mode {window_mode!r} is not one of {WINDOW_MODES}")
    if length < 1:
        raise ValueError(f"window length must be positive, got {length}")
    if not path.is_file():
        raise FileNotFoundError(f"dataset {path}: no such file")
    if h5py.is_hdf5(path):
        dataset = load_hdf5(path, classes, snrs, length, window_mode, allow_missing_classes)
    else:
        dataset = load_pickle(path, classes, snrs, length, window_mode, allow_missing_classes)
    if len(dataset) == 0:
        raise ValueError(
            f"dataset {path}: no windows left after filtering (classes {classes}, SNRs {snrs}); "
            "check the filters against the file's classes and SNRs"
        )
    return dataset


def concatenate(parts: Sequence[Dataset]) -> Dataset:
    """The windows of several Datasets with one class list, as one (the first's source and attributes;
    stream and record ids are offset so that ids from different files never coincide)."""
    if not parts:
        raise ValueError("nothing to concatenate")
    first = parts[0]
    for part in parts[1:]:
        if list(part.classes) != list(first.classes) or part.length != first.length:
            raise ValueError(
                f"dataset {part.source} ({part.length}-sample windows of {list(part.classes)}) cannot join "
                f"{first.source} ({first.length}-sample windows of {list(first.classes)}): load both with "
                "the same classes and length"
            )
    return replace(
        first,
        x=np.concatenate([part.x for part in parts]),
        y=np.concatenate([part.y for part in parts]),
        snr=np.concatenate([part.snr for part in parts]),
        attrs=dict(first.attrs),
        record=offset_ids([part.record for part in parts]),
        stream=offset_ids([part.stream for part in parts]),
    )


def offset_ids(ids: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Per-part id arrays joined with each part's ids shifted past the previous parts'; None if any lacks."""
    if any(part is None for part in ids):
        return None
    joined, start = [], 0
    for part in ids:
        joined.append(np.asarray(part, dtype=np.int64) + start)
        start += int(part.max()) + 1 if part.size else 0
    return np.concatenate(joined)


# --------------------------------------------------------------------------------------------- names


def canonical_class_name(name: str | bytes) -> str:
    """The project's spelling of a class name (bytes decoded, aliases such as 16QAM -> QAM16 applied)."""
    if isinstance(name, bytes):
        name = name.decode("latin1")
    name = str(name).strip()
    return CLASS_ALIASES.get(name.upper(), name)


def select_classes(
    path: Path, available: Sequence[str], requested: Sequence[str] | None, allow_missing: bool
) -> list[str]:
    """The output class list: ``requested`` matched against ``available`` (case-insensitive, aliases)."""
    if requested is None:
        return list(available)
    by_key = {name.upper(): name for name in available}
    chosen, missing = [], []
    for name in requested:
        match = by_key.get(canonical_class_name(name).upper())
        if match is None:
            missing.append(name)
            chosen.append(canonical_class_name(name))
        else:
            chosen.append(match)
    if missing and not allow_missing:
        raise ValueError(f"dataset {path}: class(es) {missing} not in the file; it has {list(available)}")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"class list {list(requested)} names a class twice")
    return chosen


def check_snrs(path: Path, available: Iterable[int], requested: Sequence[int] | None) -> set[int] | None:
    """The SNRs to keep, or None for all; warn about requested SNRs the file lacks."""
    if requested is None:
        return None
    present = {int(s) for s in available}
    wanted = {int(s) for s in requested}
    absent = sorted(wanted - present)
    if absent:
        warnings.warn(
            f"dataset {path}: SNR(s) {absent} dB not in the file (it has {sorted(present)})", stacklevel=3
        )
    return wanted


# ---------------------------------------------------------------------------------------------- HDF5


def load_hdf5(
    path: Path,
    classes: Sequence[str] | None,
    snrs: Sequence[int] | None,
    length: int,
    window_mode: str,
    allow_missing: bool,
) -> Dataset:
    """Our HDF5 or RML2018.01A, told apart by the shape of ``X`` and ``Y``."""
    with h5py.File(path, "r") as file:
        missing = [name for name in ("X", "Y", "Z") if not isinstance(file.get(name), h5py.Dataset)]
        if missing:
            raise ValueError(
                f"dataset {path}: HDF5 file without dataset(s) {missing} (found {sorted(file.keys())}); "
                "expected X [N,2,L] + Y [N] + Z [N] with a 'classes' attribute (gr-eeamc), or "
                "X [N,1024,2] + one-hot Y [N,24] + Z [N,1] (RML2018.01A)"
            )
        x_shape, y_shape = file["X"].shape, file["Y"].shape
        attrs = {key: plain(value) for key, value in file.attrs.items()}
        if len(x_shape) == 3 and x_shape[1] == 2 and (len(y_shape) == 1 or y_shape[1:] == (1,)):
            labels, file_classes = read_our_labels(path, file, attrs)
            attrs["layout"] = "gr-eeamc-hdf5"
            channels_last = False
        elif (
            len(x_shape) == 3 and x_shape[2] == 2 and len(y_shape) == 2 and y_shape[1] == len(RML2018_CLASSES)
        ):
            labels = read_one_hot(path, file["Y"])
            file_classes = list(RML2018_CLASSES)
            attrs["layout"] = "rml2018.01a-hdf5"
            attrs.setdefault("normalization", "none")
            channels_last = True
        else:
            raise ValueError(
                f"dataset {path}: X has shape {x_shape} and Y {y_shape}; expected X [N,2,L] with Y [N] "
                f"(gr-eeamc) or X [N,L,2] with one-hot Y [N,{len(RML2018_CLASSES)}] (RML2018.01A)"
            )
        snr = np.asarray(file["Z"][...]).reshape(-1).astype(np.int64)
        if snr.shape[0] != x_shape[0] or labels.shape[0] != x_shape[0]:
            raise ValueError(
                f"dataset {path}: X has {x_shape[0]} rows but Y {labels.shape[0]} and Z {snr.shape[0]}"
            )
        chosen = select_classes(path, file_classes, classes, allow_missing)
        rows, y = filter_rows(path, labels, snr, file_classes, chosen, snrs)
        record_length = x_shape[1] if channels_last else x_shape[2]
        windows_per_row = windows_per_record(path, record_length, length, window_mode)
        check_memory(path, rows.size * windows_per_row * 2 * length * 4)
        x = read_rows(file["X"], rows, channels_last, length, window_mode)
        stream = read_streams(path, file, rows, x_shape[0])
    attrs["window_mode"] = "as-is" if record_length == length else window_mode
    return Dataset(
        x=x,
        y=np.repeat(y, windows_per_row),
        snr=np.repeat(snr[rows], windows_per_row),
        classes=chosen,
        source=str(path),
        attrs=attrs,
        record=np.repeat(rows.astype(np.int64), windows_per_row),
        stream=None if stream is None else np.repeat(stream, windows_per_row),
    )


def read_streams(path: Path, file: h5py.File, rows: np.ndarray, count: int) -> np.ndarray | None:
    """The stream id (dataset ``S``) of each selected row, or None when the file has none."""
    if "S" not in file:
        return None
    streams = np.asarray(file["S"][...]).reshape(-1).astype(np.int64)
    if streams.shape[0] != count:
        raise ValueError(f"dataset {path}: X has {count} rows but S (stream ids) {streams.shape[0]}")
    return streams[rows]


def read_our_labels(path: Path, file: h5py.File, attrs: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """Class indices and class names of a gr-eeamc HDF5 file."""
    names = attrs.get("classes")
    if isinstance(names, str):  # a single string: a JSON or comma list
        names = [n.strip(" \"'") for n in names.strip("[]").split(",") if n.strip()]
    if not isinstance(names, list) or not names:
        raise ValueError(
            f"dataset {path}: has X [N,2,L] but no 'classes' attribute listing the class names "
            f"(attributes found: {sorted(attrs)}); files written by training.generate have one"
        )
    labels = np.asarray(file["Y"][...]).reshape(-1).astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(
            f"dataset {path}: Y holds labels {labels.min()}..{labels.max()} for {len(names)} classes {names}"
        )
    return labels, [canonical_class_name(n) for n in names]


def read_one_hot(path: Path, dataset: h5py.Dataset) -> np.ndarray:
    """Class indices from RML2018's one-hot Y, read in chunks (the file holds 2.5 M rows)."""
    labels = np.empty(dataset.shape[0], dtype=np.int64)
    for start in range(0, dataset.shape[0], READ_CHUNK_ROWS * 4):
        labels[start : start + READ_CHUNK_ROWS * 4] = np.argmax(
            dataset[start : start + READ_CHUNK_ROWS * 4], axis=1
        )
    return labels


def filter_rows(
    path: Path,
    labels: np.ndarray,
    snr: np.ndarray,
    file_classes: Sequence[str],
    chosen: Sequence[str],
    snrs: Sequence[int] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(row indices to keep, ascending; their labels re-indexed into ``chosen``)."""
    to_chosen = np.full(len(file_classes), -1, dtype=np.int64)
    for index, name in enumerate(file_classes):
        if name in chosen:
            to_chosen[index] = chosen.index(name)
    keep = to_chosen[labels] >= 0
    wanted = check_snrs(path, np.unique(snr), snrs)
    if wanted is not None:
        keep &= np.isin(snr, sorted(wanted))
    rows = np.flatnonzero(keep)
    return rows, to_chosen[labels[rows]]


def windows_per_record(path: Path, record_length: int, length: int, window_mode: str) -> int:
    """How many ``length``-sample windows one stored record gives."""
    if record_length < length:
        raise ValueError(
            f"dataset {path}: records are {record_length} samples long, shorter than the {length}-sample "
            "windows asked for; use a model with a shorter input length"
        )
    return record_length // length if window_mode == "split" else 1


def read_rows(
    dataset: h5py.Dataset, rows: np.ndarray, channels_last: bool, length: int, window_mode: str
) -> np.ndarray:
    """Read the selected rows as float32 windows [n, 2, length], one slice per contiguous run of rows."""
    record_length = dataset.shape[1] if channels_last else dataset.shape[2]
    per_row = record_length // length if window_mode == "split" else 1
    out = np.empty((rows.size * per_row, 2, length), dtype=np.float32)
    written = 0
    with tqdm(
        total=rows.size, desc="loading", unit="row", leave=False, disable=rows.size < 200_000 or None
    ) as bar:
        for start, stop in contiguous_runs(rows):
            for chunk_start in range(start, stop, READ_CHUNK_ROWS):
                block = dataset[chunk_start : min(stop, chunk_start + READ_CHUNK_ROWS)]
                block = to_windows(np.asarray(block, dtype=np.float32), channels_last, length, window_mode)
                out[written : written + block.shape[0]] = block
                written += block.shape[0]
                bar.update(block.shape[0] // per_row)
    return out


def contiguous_runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Ascending row indices -> [(start, stop)] slices covering exactly those rows."""
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [rows.size]])
    return [(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(starts, stops)]


def to_windows(records: np.ndarray, channels_last: bool, length: int, window_mode: str) -> np.ndarray:
    """Records [n, 2, R] (or [n, R, 2]) -> windows [n * k, 2, length], k = R // length (split) or 1 (crop)."""
    if channels_last:
        records = records.transpose(0, 2, 1)
    count = records.shape[2] // length if window_mode == "split" else 1
    records = records[:, :, : count * length]
    # [n, 2, k*L] -> [n, 2, k, L] -> [n, k, 2, L]: the windows of one record stay next to each other.
    windows = records.reshape(records.shape[0], 2, count, length).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(windows.reshape(-1, 2, length), dtype=np.float32)


def check_memory(path: Path, needed_bytes: int) -> None:
    """Refuse a load that cannot fit in memory, before reading anything big."""
    available = available_memory_bytes()
    if available is not None and needed_bytes > 0.9 * available:
        raise ValueError(
            f"dataset {path}: the selection needs {needed_bytes / 2**30:.1f} GiB but only "
            f"{available / 2**30:.1f} GiB of memory is available; "
            "filter classes/SNRs or use window mode 'crop'"
        )


def available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# -------------------------------------------------------------------------------------------- pickles


class SafeUnpickler(pickle.Unpickler):
    """Builds numpy arrays, dtypes and plain containers only: a dataset pickle cannot run code."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),  # pickle protocol 5
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are expected)")
        if module.startswith("numpy._core"):
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):  # numpy 1.x reading a numpy 2 pickle
                module = module.replace("numpy._core", "numpy.core")
        return super().find_class(module, name)


def read_pickle(path: Path) -> Any:
    """Unpickle with latin1 strings (RML2016's Python 2 pickles need it; Python 3 pickles are unaffected)."""
    try:
        with open(path, "rb") as handle:
            return SafeUnpickler(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError) as error:
        raise ValueError(
            f"dataset {path}: neither HDF5 nor a readable pickle ({error}); expected a gr-eeamc or RML2018 "
            "HDF5 file or an RML22/RML2016 pickle of a dict (modulation, snr) -> [n, 2, 128]"
        ) from error


def load_pickle(
    path: Path,
    classes: Sequence[str] | None,
    snrs: Sequence[int] | None,
    length: int,
    window_mode: str,
    allow_missing: bool,
) -> Dataset:
    """An RML22 or RML2016 pickle: dict (modulation, snr) -> [n, 2, L]."""
    table, ignored_keys = parse_rml_dict(path, read_pickle(path))
    file_snrs = {snr for _, snr in table}
    mods = sorted({mod for mod, _ in table})
    if max(file_snrs) <= RML2016_MAX_SNR:
        layout = "rml2016-pickle"
        file_classes = [c for c in RML22_CLASSES if c in mods] + [m for m in mods if m not in RML22_CLASSES]
        default_classes = file_classes
    else:
        layout = "rml22-pickle"
        file_classes = [c for c in RML22_CLASSES if c in mods] + [m for m in mods if m not in RML22_CLASSES]
        default_classes = [c for c in RML22_CLASSES if c in mods]
        extra = [m for m in mods if m not in RML22_CLASSES]
        if extra and classes is None:
            warnings.warn(
                f"dataset {path}: ignoring modulation key(s) {extra}, not RML22 classes "
                f"(keeping {default_classes})",
                stacklevel=3,
            )
    chosen = select_classes(
        path, file_classes, default_classes if classes is None else classes, allow_missing
    )
    wanted = check_snrs(path, file_snrs, snrs)
    keys = sorted(
        ((mod, snr) for mod, snr in table if mod in chosen and (wanted is None or snr in wanted)),
        key=lambda key: (chosen.index(key[0]), key[1]),
    )
    record_length = next(iter(table.values())).shape[2]
    windows_per_row = windows_per_record(path, record_length, length, window_mode)
    xs, ys, zs = [], [], []
    for mod, snr in keys:
        records = np.asarray(table[(mod, snr)], dtype=np.float32)
        xs.append(to_windows(records, False, length, window_mode))
        ys.append(np.full(xs[-1].shape[0], chosen.index(mod), dtype=np.int64))
        zs.append(np.full(xs[-1].shape[0], snr, dtype=np.int64))
    count = sum(x.shape[0] for x in xs)
    attrs = {
        "layout": layout,
        "normalization": "l1" if layout == "rml22-pickle" else "none",
        "file_classes": file_classes,
        "snrs": sorted(file_snrs),
    }
    if ignored_keys:
        attrs["ignored_keys"] = [str(k) for k in ignored_keys]
    attrs["window_mode"] = "as-is" if record_length == length else window_mode
    return Dataset(
        x=np.concatenate(xs) if xs else np.empty((0, 2, length), np.float32),
        y=np.concatenate(ys) if ys else np.empty(0, np.int64),
        snr=np.concatenate(zs) if zs else np.empty(0, np.int64),
        classes=chosen,
        source=str(path),
        attrs=attrs,
        record=np.arange(count, dtype=np.int64) // windows_per_row,
    )


def parse_rml_dict(path: Path, data: Any) -> tuple[dict[tuple[str, int], np.ndarray], list[Any]]:
    """Check the RML dict layout; return {(class name, snr): array} and the keys that were ignored."""
    if not isinstance(data, dict) or not data:
        raise ValueError(
            f"dataset {path}: the pickle holds {type(data).__name__}"
            f"{' (empty)' if isinstance(data, dict) else ''}; "
            "expected an RML dict (modulation, snr) -> [n, 2, L]"
        )
    table: dict[tuple[str, int], np.ndarray] = {}
    ignored = []
    for key, value in data.items():
        if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], (str, bytes))):
            ignored.append(key)
            continue
        try:
            snr = int(key[1])
        except (TypeError, ValueError):
            ignored.append(key)
            continue
        if not (isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[1] == 2):
            shape = getattr(value, "shape", type(value).__name__)
            raise ValueError(f"dataset {path}: key {key!r} holds {shape}; expected an array [n, 2, L]")
        table[(canonical_class_name(key[0]), snr)] = value
    lengths = {value.shape[2] for value in table.values()}
    if len(lengths) > 1:
        raise ValueError(
            f"dataset {path}: windows of different lengths {sorted(lengths)} under different keys"
        )
    if ignored:
        warnings.warn(
            f"dataset {path}: ignoring key(s) that are not (modulation, snr): {ignored[:5]}", stacklevel=4
        )
    if not table:
        raise ValueError(
            f"dataset {path}: no (modulation, snr) keys in the pickle; found keys like {ignored[:3]}"
        )
    return table, ignored


# --------------------------------------------------------------------------------------------- splits


def split_indices_from_labels(
    y: np.ndarray,
    snr: np.ndarray,
    seed: int = 25,
    test_fraction: float = 0.1,
    val_fraction: float = 0.1,
    classes: Sequence[str] | None = None,
    record: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The paper's split, stratified on (class, SNR): in every group ``round(n * test_fraction)`` windows
    go to test, then ``round(rest * val_fraction)`` of the rest to validation, the others to training
    (2000 per group -> 1620 / 180 / 200, so 340,200 / 37,800 / 42,000 on RML22).

    Each group is shuffled by its own generator seeded from (seed, class name, SNR), so a group's split
    does not depend on which other classes or SNRs were loaded: filtering a file never moves a window
    from test to train. With ``record``, windows cut from one record are kept in the same split (the
    counts are then in records). Returns sorted indices under keys train / val / test.
    """
    y, snr = np.asarray(y), np.asarray(snr)
    if y.shape != snr.shape or y.ndim != 1:
        raise ValueError(f"labels and SNRs must be 1-D arrays of one length, got {y.shape} and {snr.shape}")
    for name, value in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    units = np.arange(y.size) if record is None else np.asarray(record)
    order = np.lexsort((units, snr, y))  # by group, then by record: a reproducible order within a group
    keys = np.stack([y[order], snr[order]])
    bounds = np.flatnonzero(np.any(keys[:, 1:] != keys[:, :-1], axis=0)) + 1
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for members in np.split(order, bounds):
        if members.size == 0:
            continue
        label, level = int(y[members[0]]), int(snr[members[0]])
        group_units, inverse = np.unique(units[members], return_inverse=True)
        rng = np.random.default_rng(group_seed(seed, classes[label] if classes is not None else label, level))
        shuffled = rng.permutation(group_units.size)
        n_test = round_half_up(group_units.size * test_fraction)
        n_val = round_half_up((group_units.size - n_test) * val_fraction)
        if record is not None and group_units.size >= 3:  # few streams (a small file): one each at least
            n_test = max(n_test, 1 if test_fraction > 0 else 0)
            n_val = max(n_val, 1 if val_fraction > 0 else 0)
        assignment = np.empty(group_units.size, dtype=np.int8)  # 0 train, 1 val, 2 test, per unit
        assignment[shuffled[:n_test]] = 2
        assignment[shuffled[n_test : n_test + n_val]] = 1
        assignment[shuffled[n_test + n_val :]] = 0
        for code, name in ((0, "train"), (1, "val"), (2, "test")):
            parts[name].append(members[assignment[inverse] == code])
    return {
        name: np.sort(np.concatenate(chunks)) if chunks else np.empty(0, np.int64)
        for name, chunks in parts.items()
    }


def split_indices(
    dataset: Dataset,
    seed: int = 25,
    test_fraction: float = 0.1,
    val_fraction: float = 0.1,
    split_by: str = "auto",
) -> dict[str, np.ndarray]:
    """The stratified split of ``dataset`` (see ``split_indices_from_labels``), by window or by stream."""
    units = dataset.stream if resolve_split_by(dataset, split_by) == "stream" else dataset.record
    return split_indices_from_labels(
        dataset.y, dataset.snr, seed, test_fraction, val_fraction, dataset.classes, units
    )


def resolve_split_by(dataset: Dataset, split_by: str) -> str:
    """ "window" or "stream" for ``split_by`` (one of SPLIT_BY); ValueError naming the fix otherwise."""
    if split_by not in SPLIT_BY:
        raise ValueError(f"split_by {split_by!r} is not one of {SPLIT_BY}")
    if split_by == "auto":
        wanted = dataset.attrs.get("split_unit", "window")
        return "stream" if wanted == "stream" and dataset.stream is not None else "window"
    if split_by == "stream" and dataset.stream is None:
        raise ValueError(
            f"dataset {dataset.source}: a split by stream needs stream ids (dataset S), which it lacks; "
            "regenerate it with `python -m training generate` (version 2 or later), or split by window"
        )
    return split_by


def load_split(
    path: str | Path,
    split: str,
    seed: int = 25,
    classes: Sequence[str] | None = None,
    snrs: Sequence[int] | None = None,
    length: int = 128,
    test_fraction: float = 0.1,
    val_fraction: float = 0.1,
    split_by: str = "auto",
    **load_options: Any,
) -> Dataset:
    """One split (train, val, test, or all = every window) of a dataset file, by window or by stream
    (``split_by``: see SPLIT_BY)."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {SPLITS}")
    dataset = load_dataset(path, classes=classes, snrs=snrs, length=length, **load_options)
    if split == "all":
        dataset.attrs["split"] = "all"
        return dataset
    part = dataset.subset(split_indices(dataset, seed, test_fraction, val_fraction, split_by)[split])
    part.attrs.update(
        split=split,
        split_seed=seed,
        split_fractions=[test_fraction, val_fraction],
        split_by=resolve_split_by(dataset, split_by),
    )
    return part


def recorded_split(provenance: Mapping[str, Any], data: str | Path | None = None) -> dict[str, Any]:
    """The split a model file's provenance records (train's config) as load_split options: its seed,
    fractions and SNRs, so the training split is the one it was trained on and the test split stays
    unseen. The split unit it recorded is its --data file's; any other ``data`` (a --mix file among
    them) is split as that file recommends, as train --mix split it."""
    config = provenance.get("config", {})
    own_data = data is None or Path(data).resolve() == Path(config.get("data", "")).resolve()
    return {
        "seed": int(config.get("seed", 25)),
        "test_fraction": float(config.get("test_fraction", 0.1)),
        "val_fraction": float(config.get("val_fraction", 0.1)),
        "snrs": config.get("snrs"),
        "window_mode": config.get("window_mode", "split"),
        "split_by": config.get("split_by", "auto") if own_data else "auto",
    }


def group_seed(seed: int, class_key: str | int, snr: int) -> list[int]:
    """Seed material for one (class, SNR) group; stable across runs and platforms (no hash())."""
    key = zlib.crc32(class_key.encode()) if isinstance(class_key, str) else int(class_key)
    return [int(seed) & 0xFFFFFFFF, key & 0xFFFFFFFF, (int(snr) + (1 << 16)) & 0xFFFFFFFF]


def round_half_up(value: float) -> int:
    """0.5 rounds up (Python's round() would send 2.5 to 2)."""
    return math.floor(value + 0.5 + 1e-9)


# ---------------------------------------------------------------------------------------------- misc


def plain(value: Any) -> Any:
    """HDF5 attribute / numpy value -> plain Python (str, int, float, bool, list, dict) for provenance."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return str(value)  # str subclasses (torch's TorchVersion) are not plain for torch.load(weights_only)
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()] if value.ndim else plain(value.item())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def parse_class_list(text: str | None) -> list[str] | None:
    """'QAM16,BPSK' -> ['QAM16', 'BPSK'] for command lines; None or '' = all classes."""
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def parse_snr_list(text: str | None) -> list[int] | None:
    """'-20,-18,0' or a range '0:20:2' (start:stop:step, stop included) -> SNRs; None or '' = all."""
    if not text:
        return None
    snrs: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if ":" in part:
                start, stop, *step = (int(v) for v in part.split(":"))
                snrs.extend(range(start, stop + 1, step[0] if step else 1))
            else:
                snrs.append(int(part))
        except ValueError as error:
            raise ValueError(f"SNR list {text!r}: {part!r} is not an integer or start:stop[:step]") from error
    return snrs
