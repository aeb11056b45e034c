# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dataset loading: every layout round-trips, bad layouts get clear errors, the paper's split is exact."""

import io
import pickle
import struct
import warnings
from typing import ClassVar

import h5py
import numpy as np
import pytest

from training.datasets import (
    RML22_CLASSES,
    RML2016_CLASSES,
    RML2018_CLASSES,
    load_dataset,
    load_split,
    parse_snr_list,
    split_indices,
    split_indices_from_labels,
)

RNG = np.random.default_rng(7)


def random_windows(count: int, length: int = 128) -> np.ndarray:
    return RNG.standard_normal((count, 2, length)).astype(np.float32)


def write_ours(path, x, y, z, classes, **attrs) -> None:
    with h5py.File(path, "w") as file:
        file["X"], file["Y"], file["Z"] = x, y, z
        file.attrs["classes"] = classes
        for key, value in attrs.items():
            file.attrs[key] = value


def rml_table(classes, snrs, per_key: int) -> dict:
    return {(mod, snr): random_windows(per_key) for mod in classes for snr in snrs}


class Python2Pickler(pickle._Pickler):
    """Writes every str/bytes as a Python 2 'str' (BINSTRING), as RML2016.10a's pickle holds them, so
    the file only loads with encoding='latin1', like the real one."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


# ------------------------------------------------------------------------------------------ formats


def test_our_hdf5_round_trip(tmp_path):
    x = random_windows(60)
    y = np.arange(60) % 3
    z = (np.arange(60) // 3) % 4 * 2 - 2
    write_ours(tmp_path / "ours.h5", x, y, z, ["BPSK", "QPSK", "QAM16"], seed=11, impairments="all")
    data = load_dataset(tmp_path / "ours.h5")
    np.testing.assert_array_equal(data.x, x)
    np.testing.assert_array_equal(data.y, y)
    np.testing.assert_array_equal(data.snr, z)
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64 and data.snr.dtype == np.int64
    assert data.classes == ["BPSK", "QPSK", "QAM16"]
    assert data.attrs["seed"] == 11 and data.attrs["impairments"] == "all"
    assert data.attrs["layout"] == "gr-eeamc-hdf5"
    assert data.snrs == [-2, 0, 2, 4] and len(data) == 60 and data.length == 128


def test_filters_pick_classes_and_snrs_and_relabel(tmp_path):
    x = random_windows(60)
    y = np.arange(60) % 3
    z = (np.arange(60) // 3) % 4 * 2 - 2
    write_ours(tmp_path / "ours.h5", x, y, z, ["BPSK", "QPSK", "QAM16"])
    data = load_dataset(tmp_path / "ours.h5", classes=["qam16", "BPSK"], snrs=[0, 4])
    keep = np.isin(y, [0, 2]) & np.isin(z, [0, 4])
    assert data.classes == ["QAM16", "BPSK"]  # the order asked for; labels index it
    np.testing.assert_array_equal(data.x, x[keep])
    np.testing.assert_array_equal(data.y, np.where(y[keep] == 2, 0, 1))
    np.testing.assert_array_equal(data.snr, z[keep])


def test_missing_class_is_an_error_unless_allowed(tmp_path):
    write_ours(tmp_path / "ours.h5", random_windows(6), np.arange(6) % 2, np.zeros(6, int), ["BPSK", "QPSK"])
    with pytest.raises(ValueError, match=r"WBFM.*not in the file.*BPSK"):
        load_dataset(tmp_path / "ours.h5", classes=["BPSK", "WBFM"])
    data = load_dataset(tmp_path / "ours.h5", classes=["WBFM", "QPSK"], allow_missing_classes=True)
    assert data.classes == ["WBFM", "QPSK"] and set(data.y) == {1}


def test_unknown_snr_warns_and_empty_selection_fails(tmp_path):
    write_ours(tmp_path / "ours.h5", random_windows(6), np.arange(6) % 2, np.zeros(6, int), ["BPSK", "QPSK"])
    with pytest.warns(UserWarning, match=r"SNR\(s\) \[30\]"):
        assert len(load_dataset(tmp_path / "ours.h5", snrs=[0, 30])) == 6
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no windows left"):
        load_dataset(tmp_path / "ours.h5", snrs=[30])


@pytest.mark.parametrize("protocol", [2, 4, pickle.HIGHEST_PROTOCOL])
def test_rml22_pickle_round_trip_ignores_an_extra_key_with_a_warning(tmp_path, protocol):
    table = rml_table([*RML22_CLASSES, "AM-SSB"], [-20, 0, 20], per_key=4)
    with open(tmp_path / "RML22.pkl", "wb") as handle:
        pickle.dump(table, handle, protocol=protocol)
    with pytest.warns(UserWarning, match=r"ignoring modulation key\(s\) \['AM-SSB'\]"):
        data = load_dataset(tmp_path / "RML22.pkl")
    assert data.classes == RML22_CLASSES
    assert data.attrs["layout"] == "rml22-pickle" and data.attrs["normalization"] == "l1"
    assert len(data) == 10 * 3 * 4
    for mod, snr in [("QAM16", -20), ("QPSK", 20), ("GFSK", 0)]:
        chosen = (data.y == RML22_CLASSES.index(mod)) & (data.snr == snr)
        np.testing.assert_array_equal(data.x[chosen], table[(mod, snr)])


def test_rml2016_latin1_pickle_keeps_its_eleven_classes(tmp_path):
    names = ["8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64", "QPSK", "WBFM"]
    table = rml_table(names, [-20, 0, 18], per_key=3)
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(table)
    (tmp_path / "RML2016.10a_dict.pkl").write_bytes(buffer.getvalue())
    with pytest.raises(UnicodeDecodeError):  # a real Python 2 pickle: plain pickle.load cannot read it
        pickle.loads(buffer.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # AM-SSB is a real class here, not an ignored key
        data = load_dataset(tmp_path / "RML2016.10a_dict.pkl")
    assert data.classes == RML2016_CLASSES and data.attrs["layout"] == "rml2016-pickle"
    assert len(data) == 11 * 3 * 3
    chosen = (data.y == data.classes.index("AM-SSB")) & (data.snr == 18)
    np.testing.assert_array_equal(data.x[chosen], table[("AM-SSB", 18)])


def write_rml2018(path, frames: int):
    x = RNG.standard_normal((frames, 1024, 2)).astype(np.float32)
    labels = np.arange(frames) % len(RML2018_CLASSES)
    z = np.where(np.arange(frames) < frames // 2, -10, 30).reshape(-1, 1)
    with h5py.File(path, "w") as file:
        file["X"], file["Y"], file["Z"] = x, np.eye(len(RML2018_CLASSES), dtype=np.int64)[labels], z
    return x, labels, z.ravel()


def test_rml2018_frames_are_split_into_windows_or_cropped(tmp_path):
    x, labels, z = write_rml2018(tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5", frames=48)
    data = load_dataset(tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5")
    assert data.classes == RML2018_CLASSES and data.attrs["layout"] == "rml2018.01a-hdf5"
    assert data.x.shape == (48 * 8, 2, 128)
    frame, k = 5, 3  # window k of frame 5 is samples k*128..(k+1)*128, I and Q as rows
    np.testing.assert_array_equal(data.x[frame * 8 + k], x[frame, k * 128 : (k + 1) * 128].T)
    np.testing.assert_array_equal(data.y, np.repeat(labels, 8))
    np.testing.assert_array_equal(data.snr, np.repeat(z, 8))
    np.testing.assert_array_equal(data.record, np.repeat(np.arange(48), 8))
    cropped = load_dataset(
        tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5", window_mode="crop", classes=["16QAM", "BPSK"]
    )
    assert cropped.classes == ["QAM16", "BPSK"]  # RML2018's 16QAM spelled the project's way
    rows = np.flatnonzero(np.isin(labels, [RML2018_CLASSES.index("QAM16"), RML2018_CLASSES.index("BPSK")]))
    np.testing.assert_array_equal(cropped.x, x[rows, :128].transpose(0, 2, 1))
    assert cropped.classes[0] == RML2018_CLASSES[12]


def test_rml2018_split_keeps_each_frame_in_one_split(tmp_path):
    write_rml2018(tmp_path / "r18.h5", frames=24 * 20)
    data = load_dataset(tmp_path / "r18.h5", classes=["BPSK", "QPSK"])
    parts = split_indices(data)
    owner = {}
    for name, index in parts.items():
        for record in np.unique(data.record[index]):
            assert owner.setdefault(record, name) == name
    # 10 frames per (class, SNR): 1 test frame, 1 validation frame (round(9 * 0.1)), 8 training frames
    assert [parts[name].size for name in ("train", "val", "test")] == [2 * 2 * 8 * 8, 2 * 2 * 8, 2 * 2 * 8]


# ------------------------------------------------------------------------------------- bad layouts


def test_bad_hdf5_layouts_name_the_file_and_what_was_expected(tmp_path):
    with h5py.File(tmp_path / "noz.h5", "w") as file:
        file["X"], file["Y"] = random_windows(4), np.zeros(4, int)
    with pytest.raises(ValueError, match=r"noz\.h5.*without dataset\(s\) \['Z'\].*expected X \[N,2,L\]"):
        load_dataset(tmp_path / "noz.h5")
    with h5py.File(tmp_path / "shape.h5", "w") as file:
        file["X"], file["Y"], file["Z"] = (
            np.zeros((4, 3, 128), np.float32),
            np.zeros(4, int),
            np.zeros(4, int),
        )
    with pytest.raises(ValueError, match=r"shape\.h5: X has shape \(4, 3, 128\).*expected X \[N,2,L\]"):
        load_dataset(tmp_path / "shape.h5")
    with h5py.File(tmp_path / "noclasses.h5", "w") as file:
        file["X"], file["Y"], file["Z"] = random_windows(4), np.zeros(4, int), np.zeros(4, int)
    with pytest.raises(ValueError, match=r"noclasses\.h5.*no 'classes' attribute"):
        load_dataset(tmp_path / "noclasses.h5")
    write_ours(
        tmp_path / "labels.h5", random_windows(4), np.array([0, 1, 2, 5]), np.zeros(4, int), ["A", "B"]
    )
    with pytest.raises(ValueError, match=r"labels\.h5: Y holds labels 0\.\.5 for 2 classes"):
        load_dataset(tmp_path / "labels.h5")
    write_ours(tmp_path / "short.h5", random_windows(4, length=64), np.zeros(4, int), np.zeros(4, int), ["A"])
    with pytest.raises(ValueError, match=r"short\.h5: records are 64 samples long"):
        load_dataset(tmp_path / "short.h5", length=128)


def test_bad_pickles_and_other_files_are_refused_clearly(tmp_path):
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match=r"list\.pkl: the pickle holds list; expected an RML dict"):
        load_dataset(tmp_path / "list.pkl")
    (tmp_path / "shape.pkl").write_bytes(pickle.dumps({("BPSK", 0): np.zeros((4, 128), np.float32)}))
    with pytest.raises(
        ValueError, match=r"shape\.pkl: key \('BPSK', 0\) holds \(4, 128\); expected an array \[n, 2, L\]"
    ):
        load_dataset(tmp_path / "shape.pkl")
    (tmp_path / "notes.txt").write_text("not a dataset\n")
    with pytest.raises(ValueError, match=r"notes\.txt: neither HDF5 nor a readable pickle"):
        load_dataset(tmp_path / "notes.txt")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({("BPSK", 0): print}))  # a pickle that calls code
    with pytest.raises(ValueError, match=r"refusing to load builtins\.print"):
        load_dataset(tmp_path / "evil.pkl")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_dataset(tmp_path / "absent.h5")


# ------------------------------------------------------------------------------------------- split


def rml22_labels() -> tuple[np.ndarray, np.ndarray]:
    """Labels and SNRs of the full RML22 set (420,000 windows), without any window data."""
    snrs = np.arange(-20, 21, 2)
    y = np.repeat(np.arange(10), len(snrs) * 2000)
    snr = np.tile(np.repeat(snrs, 2000), 10)
    return y, snr


def test_split_of_the_full_set_is_the_papers_exactly():
    y, snr = rml22_labels()
    parts = split_indices_from_labels(y, snr, seed=25, classes=RML22_CLASSES)
    assert {name: index.size for name, index in parts.items()} == {
        "train": 340_200,
        "val": 37_800,
        "test": 42_000,
    }
    everything = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(everything), np.arange(y.size))  # disjoint and complete
    for name, per_group in (("train", 1620), ("val", 180), ("test", 200)):  # stratified on (class, SNR)
        counts = np.unique(y[parts[name]] * 100 + snr[parts[name]], return_counts=True)[1]
        assert counts.size == 210 and (counts == per_group).all(), name


def test_split_is_seeded_and_independent_of_what_else_was_loaded():
    y, snr = rml22_labels()
    first = split_indices_from_labels(y, snr, seed=25, classes=RML22_CLASSES)
    again = split_indices_from_labels(y, snr, seed=25, classes=RML22_CLASSES)
    other = split_indices_from_labels(y, snr, seed=26, classes=RML22_CLASSES)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["test"], other["test"])
    # Load only QPSK and BPSK (in another label order) at 10 dB: their windows land in the same splits.
    keep = np.flatnonzero(np.isin(y, [4, 9]) & (snr == 10))
    relabelled = np.where(y[keep] == 9, 0, 1)
    partial = split_indices_from_labels(relabelled, snr[keep], seed=25, classes=["QPSK", "BPSK"])
    for name in first:
        np.testing.assert_array_equal(keep[partial[name]], np.intersect1d(first[name], keep))


def test_split_keeps_the_proportions_on_a_small_set():
    y = np.repeat(np.arange(3), 60)
    snr = np.zeros(180, int)
    parts = split_indices_from_labels(y, snr, seed=1)
    # per group of 60: 6 test, round(54 * 0.1) = 5 validation, 49 training
    sizes = {name: index.size for name, index in parts.items()}
    assert sizes == {"train": 3 * 49, "val": 3 * 5, "test": 3 * 6}


def test_load_split_returns_disjoint_parts_of_the_file(tmp_path):
    x = random_windows(400)
    y = np.arange(400) % 4
    z = (np.arange(400) // 4) % 2 * 10
    write_ours(tmp_path / "ours.h5", x, y, z, ["BPSK", "QPSK", "QAM16", "GFSK"])
    parts = {name: load_split(tmp_path / "ours.h5", name, seed=3) for name in ("train", "val", "test")}
    # 8 (class, SNR) groups of 50: 5 test, round(4.5) = 5 validation (halves round up), 40 training
    assert [len(parts[n]) for n in ("train", "val", "test")] == [8 * 40, 8 * 5, 8 * 5]
    rows = np.concatenate([part.record for part in parts.values()])
    assert np.array_equal(np.sort(rows), np.arange(400))
    np.testing.assert_array_equal(parts["test"].x, x[parts["test"].record])
    assert parts["val"].attrs["split"] == "val" and len(load_split(tmp_path / "ours.h5", "all")) == 400
    with pytest.raises(ValueError, match="split 'dev' is not one of"):
        load_split(tmp_path / "ours.h5", "dev")


def test_snr_lists_parse_ranges():
    assert parse_snr_list("-20:20:2") == list(range(-20, 21, 2))
    assert parse_snr_list("0, 4,10:12") == [0, 4, 10, 11, 12]
    assert parse_snr_list("") is None
    with pytest.raises(ValueError, match="'x' is not an integer"):
        parse_snr_list("0,x")
