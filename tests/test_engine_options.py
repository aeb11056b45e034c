# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's options and fast paths: adaptive exits (skip, probe, re-enable), precision (fp32 and
int8), the channels-last CPU network, one-pass softmax and entropy, CUDA against the CPU."""

import math

import pytest
import torch
from gnuradio.eeamc.channels_last import channels_last_network, gather_rows
from gnuradio.eeamc.engine import (
    AdaptiveExits,
    EarlyExitEngine,
    break_even,
    break_even_shares,
    entropy_log10,
    measured_break_even_shares,
    packed_to_host,
    softmax_and_entropy,
)
from gnuradio.eeamc.networks import build_network, fold_batchnorm
from test_engine import make_net, median_entropy, windows


def make_certain(linear: torch.nn.Linear) -> None:
    """An exit's last layer that answers class 0 with entropy 0 whatever its input."""
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([1e4] + [0.0] * (linear.out_features - 1)))


def test_softmax_and_entropy_in_one_pass():
    logits = torch.randn(64, 10) * 5
    p, e = softmax_and_entropy(logits)
    torch.testing.assert_close(p, logits.softmax(1))
    torch.testing.assert_close(e, entropy_log10(logits.softmax(1)), rtol=1e-5, atol=1e-6)
    one_hot = torch.tensor([[1e4] + [0.0] * 9, [0.0] * 10, [-math.inf] + [0.0] * 9])
    p, e = softmax_and_entropy(one_hot)
    assert float(e[0]) == 0.0 and float(e[1]) == pytest.approx(1.0)  # certain; uniform: log10(10)
    assert math.isfinite(float(e[2])) and float(p[2, 0]) == 0.0  # a -inf logit: p = 0, 0 log 0 = 0
    p, _ = softmax_and_entropy(torch.linspace(0, -120, 10)[None])  # exp(-88..-120) would be subnormal
    assert float(p[0, p[0] > 0].min()) >= torch.finfo(torch.float32).tiny and float(p[0, -1]) == 0.0


@pytest.mark.parametrize(
    "h",
    [
        torch.randn(9, 4, 1, 6).contiguous(memory_format=torch.channels_last),  # the fp32 CPU network's
        torch.randn(9, 6, 4).transpose(1, 2),  # [batch, channels, length] stored length-major (int8's)
        torch.randn(9, 4, 6),
    ],
)
def test_gathering_rows_keeps_the_memory_layout(h):
    rows = torch.tensor([0, 3, 4, 8])
    gathered = gather_rows(h, rows)
    assert torch.equal(gathered, h[rows])
    assert gathered.stride() == torch.empty_like(h)[: len(rows)].stride() or gathered.is_contiguous()
    if not h.is_contiguous():
        assert not gathered.is_contiguous()  # still in h's layout, not converted to the plain one


@pytest.mark.parametrize("arch", ["v1", "conv1,conv3,conv5", "v3"])
def test_channels_last_network_gives_the_folded_networks_outputs(arch):
    folded = fold_batchnorm(make_net(arch))
    fast = channels_last_network(folded)
    x = windows(24)
    with torch.inference_mode():
        for plain, converted in zip(folded(x), fast(x)):
            torch.testing.assert_close(converted, plain, rtol=1e-4, atol=1e-4)
    assert len(fast.stages) == len(folded.stages)  # stage i is still stage i: hooks and segments hold


def test_adaptive_exit_is_skipped_probed_and_run_again():
    engine = EarlyExitEngine(make_net(), 1e-6, "cpu", adaptive_exits=True)  # random net: nobody exits
    engine.adaptive.window, engine.adaptive.probe_every = 64, 4
    calls = []
    engine.net.branches[0].register_forward_hook(lambda module, inputs, output: calls.append(len(output)))
    x = windows(32)
    off_cost = int(engine.macs_for([False])[1])

    def batches(count: int) -> list:
        before = len(calls)
        results = [engine.classify(x) for _ in range(count)]
        return results, len(calls) - before

    results, ran = batches(2)  # 64 windows seen at the exit, none left: below break-even
    assert ran == 2 and engine.skipped_exits == [0]
    results, ran = batches(8)  # skipped: only every 4th batch probes the branch
    assert ran == 2 and engine.skipped_exits == [0]
    skipped = [r for r in results if int(r.macs[0]) == off_cost]
    assert len(skipped) == 6 and all(r.exit.tolist() == [1] * 32 for r in results)

    make_certain(engine.net.branches[0][-1])  # from now on every window could leave at the exit
    results, ran = batches(8)  # two probes, 64 windows, all left: the exit runs again
    assert ran == 2 and engine.skipped_exits == []
    assert results[3].exit.tolist() == [0] * 32 and results[2].exit.tolist() == [1] * 32
    results, ran = batches(3)
    assert ran == 3 and all(r.exit.tolist() == [0] * 32 for r in results)
    assert set(results[0].macs.tolist()) == {int(engine.macs_for([True])[0])}


def test_reset_adaptive_runs_every_exit_again():
    """What a block's start() calls: a new run learns afresh which exits pay."""
    engine = EarlyExitEngine(make_net(), 1e-6, "cpu", adaptive_exits=True)
    engine.adaptive.window = 64
    for _ in range(2):
        engine.classify(windows(32))
    assert engine.skipped_exits == [0]
    engine.reset_adaptive()
    assert engine.skipped_exits == []
    EarlyExitEngine(make_net(), 1e-6, "cpu").reset_adaptive()  # without adaptive exits: nothing to do


def test_new_thresholds_run_every_exit_again():
    engine = EarlyExitEngine(make_net(), 1e-6, "cpu", adaptive_exits=True)
    engine.adaptive.window = 16
    engine.classify(windows(16))
    assert engine.skipped_exits == [0]
    engine.set_thresholds(0.5)
    assert engine.skipped_exits == []


def test_adaptive_exits_keep_an_exit_that_pays():
    net = make_net()
    x = windows(64)
    thresholds = [median_entropy(net, x)]
    plain = EarlyExitEngine(net, thresholds, "cpu").classify(x)
    engine = EarlyExitEngine(net, thresholds, "cpu", adaptive_exits=True)
    # The mechanism, not the machine: the break-even in MACs (a measured one depends on the load).
    engine.adaptive.window, engine.adaptive.min_share = 32, break_even_shares(net)
    for _ in range(4):
        result = engine.classify(x)
    assert engine.skipped_exits == []  # half the windows leave: far above break-even
    assert torch.equal(result.exit, plain.exit) and torch.equal(result.macs, plain.macs)


@pytest.mark.parametrize("threshold", [0.0, 0.5])
def test_an_empty_batch_gives_empty_results(threshold):
    for engine in (
        EarlyExitEngine(make_net(), threshold, "cpu"),
        EarlyExitEngine(make_net("v3"), threshold, "cpu"),
    ):
        result = engine.classify(torch.zeros(0, 2, 128))
        assert len(result) == 0 and result.probabilities.shape == (0, 10) and result.macs.dtype == torch.int64
    folded = fold_batchnorm(make_net())
    with torch.inference_mode():
        assert [out.shape for out in channels_last_network(folded)(torch.zeros(0, 2, 128))] == [(0, 10)] * 2


def test_break_even_interpolates_the_measured_times():
    points = [(0.0, 12.0), (0.5, 10.0), (1.0, 6.0)]
    assert break_even(points, 11.0) == pytest.approx(0.25)  # on the first segment
    assert break_even(points, 8.0) == pytest.approx(0.75)  # gathering made the half point dear
    assert break_even(points, 13.0) == 0.0  # the exit pays even if nobody leaves
    assert break_even(points, 5.0) == 1.0  # it never pays


@pytest.mark.parametrize("arch", ["v1", "conv1,conv3"])
def test_adaptive_exits_use_the_break_even_measured_on_the_engine(arch):
    net = make_net(arch)
    engine = EarlyExitEngine(net, 0.5, "cpu", adaptive_exits=True)
    measured, in_macs = engine.adaptive.min_share, break_even_shares(net)
    assert len(measured) == net.num_exits - 1
    assert all(macs <= share <= 1.0 for share, macs in zip(measured, in_macs))
    assert engine.thresholds == [0.5] * (net.num_exits - 1)  # the timing runs left the thresholds alone
    again = measured_break_even_shares(engine)
    assert len(again) == len(measured) and all(math.isfinite(share) for share in again)


def test_break_even_is_the_branch_over_what_leaving_saves():
    net = build_network("v1")
    (share,) = break_even_shares(net)
    segments, classifiers = net.segment_macs(), net.exit_macs()
    assert share == pytest.approx(classifiers[0] / (segments[1] + classifiers[1]))
    assert 0.05 < share < 0.12  # V1: a 67,904-MAC branch against 819,840 MACs saved
    with pytest.raises(ValueError, match="window and probe_every must be >= 1"):
        AdaptiveExits([0.1], window=0)


def test_precision_is_checked():
    net = make_net()
    assert EarlyExitEngine(net, 0.3, "cpu").precision == "fp32"
    with pytest.raises(ValueError, match="fp32 or int8.*resolve 'auto'"):
        EarlyExitEngine(net, 0.3, "cpu", precision="auto")
    with pytest.raises(ValueError, match="int8 parameters"):
        EarlyExitEngine(net, 0.3, "cpu", precision="int8")


def test_int8_engine_exits_as_the_thresholds_say():
    quantization = pytest.importorskip("gnuradio.eeamc.quantization")
    net = make_net()
    x = windows(96)
    params = quantization.calibrate_int8(net, x)
    threshold = median_entropy(net, x)
    engine = EarlyExitEngine(net, threshold, "cpu", precision="int8", int8_params=params)
    assert engine.precision == "int8"
    result = engine.classify(x)
    early = result.exit == 0
    assert 0 < int(early.sum()) < len(x)
    assert bool((result.entropy[early] <= threshold).all()) and bool(
        (result.entropy[~early] > threshold).all()
    )
    torch.testing.assert_close(result.entropy, entropy_log10(result.probabilities), rtol=1e-4, atol=1e-5)
    assert set(result.macs.tolist()) == set(net.macs_per_exit())


def test_results_come_back_in_one_packed_copy_with_their_dtypes():
    label = torch.tensor([3, 0, 9], dtype=torch.int64)
    probabilities = torch.rand(3, 10)
    entropy = torch.tensor([0.5, float("nan"), 0.0])
    back = packed_to_host([label, probabilities, entropy])
    assert [t.dtype for t in back] == [torch.int64, torch.float32, torch.float32]
    assert torch.equal(back[0], label) and torch.equal(back[1], probabilities)
    assert torch.allclose(back[2], entropy, equal_nan=True) and back[2].shape == (3,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_the_cpu_results():
    net = make_net("conv1,conv3,conv5")
    x = windows(300)
    thresholds = [median_entropy(net, x, k) for k in range(3)]
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # TF32 convolutions round differently from the CPU
    try:
        gpu = EarlyExitEngine(net, thresholds, "cuda")
        results = [gpu.classify(x), gpu.classify(x[:7])]  # the pinned buffer is reused for a smaller batch
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    cpu = EarlyExitEngine(net, thresholds, "cpu")
    for result, expected in zip(results, [cpu.classify(x), cpu.classify(x[:7])]):
        assert result.label.device.type == "cpu" and result.label.dtype == torch.int64
        assert torch.equal(result.exit, expected.exit) and torch.equal(result.label, expected.label)
        assert torch.equal(result.macs, expected.macs)
        torch.testing.assert_close(result.probabilities, expected.probabilities, rtol=1e-3, atol=1e-5)
        torch.testing.assert_close(result.entropy, expected.entropy, rtol=1e-3, atol=1e-5)
