# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The early-exit engine: batched Algorithm 2 with exact bookkeeping of exits and compute."""

import pytest
import torch
from gnuradio.eeamc.engine import EarlyExitEngine, entropy_log10, resolve_device
from gnuradio.eeamc.networks import build_network


def make_net(arch: str = "v1", seed: int = 3) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_network(arch).eval()


def windows(count: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    scale = torch.rand(count, 1, 1, generator=generator) * 20
    return torch.randn(count, 2, 128, generator=generator) * scale


@torch.no_grad()
def median_entropy(net, x, exit_index=0) -> float:
    """A threshold that splits the windows in two at an exit, halfway between two entropies so that
    rounding differences between batch sizes cannot move a window across it."""
    logits, _ = net.forward_to_exit(x, exit_index)
    values = entropy_log10(logits.softmax(1)).sort().values
    middle = len(values) // 2
    return float(values[middle - 1] + values[middle]) / 2


@pytest.mark.parametrize("arch", ["v1", "conv1,conv3,conv5"])
def test_batched_equals_one_by_one(arch):
    net = make_net(arch)
    x = windows(40)
    thresholds = [median_entropy(net, x, k) for k in range(net.num_exits - 1)]
    engine = EarlyExitEngine(net, thresholds, "cpu")
    batched = engine.classify(x)
    assert len(set(batched.exit.tolist())) > 1, "the data should leave at more than one exit"
    for i in range(len(x)):
        alone = engine.classify(x[i : i + 1])
        assert int(alone.label[0]) == int(batched.label[i])
        assert int(alone.exit[0]) == int(batched.exit[i])
        torch.testing.assert_close(alone.probabilities[0], batched.probabilities[i], rtol=1e-4, atol=1e-6)


def test_threshold_zero_is_the_baseline_even_at_zero_entropy():
    net = make_net()
    branch_output = net.branches[0][-1]
    with torch.no_grad():  # make the early exit certain: one-hot softmax, entropy exactly 0
        branch_output.weight.zero_()
        branch_output.bias.copy_(torch.tensor([1e4] + [0.0] * 9))
    x = windows(16)
    result = EarlyExitEngine(net, 0.0, "cpu").classify(x)
    assert result.exit.tolist() == [1] * 16
    torch.testing.assert_close(result.probabilities, net(x)[-1].softmax(1))
    assert set(result.macs.tolist()) == {1_655_424}
    eager = EarlyExitEngine(net, 1e-9, "cpu").classify(x)
    assert eager.exit.tolist() == [0] * 16 and float(eager.entropy.max()) == 0.0


def test_windows_that_left_never_run_deeper_layers():
    net = make_net()
    engine = EarlyExitEngine(net, 1.0, "cpu")  # log10 entropy of 10 classes is at most 1
    calls = []
    for stage in engine.net.stages[2:]:  # pool2 onwards, in the copy the engine runs: after V1's branch
        stage.register_forward_hook(lambda module, inputs, output: calls.append(inputs[0].shape[0]))
    engine.net.head.register_forward_hook(lambda module, inputs, output: calls.append(inputs[0].shape[0]))
    result = engine.classify(windows(32))
    assert result.exit.tolist() == [0] * 32
    assert calls == []
    assert set(result.macs.tolist()) == {903_488}


def test_only_undecided_windows_go_deeper():
    net = make_net()
    x = windows(50)
    engine = EarlyExitEngine(net, median_entropy(net, x), "cpu")
    seen = []
    engine.net.head.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].shape[0]))
    result = engine.classify(x)
    assert seen == [int((result.exit == 1).sum())]
    assert 0 < seen[0] < 50


def test_exit_indices_entropy_and_macs_are_consistent():
    net = make_net("conv1,conv3,conv5")
    x = windows(60)
    engine = EarlyExitEngine(net, [median_entropy(net, x, k) for k in range(3)], "cpu")
    result = engine.classify(x)
    costs = net.macs_per_exit()
    for i in range(len(x)):
        k = int(result.exit[i])
        with torch.no_grad():
            logits, _ = net.forward_to_exit(x[i : i + 1], k)
        probabilities = logits.softmax(1)[0]
        torch.testing.assert_close(result.probabilities[i], probabilities, rtol=1e-4, atol=1e-6)
        assert int(result.macs[i]) == costs[k]
        assert abs(float(result.entropy[i]) - float(entropy_log10(probabilities[None]))) < 1e-5
        assert float(result.confidence[i]) == pytest.approx(float(probabilities.max()), rel=1e-5)
        if k < 3:
            assert float(result.entropy[i]) <= engine.thresholds[k]


def test_bad_thresholds_and_shapes_are_refused():
    engine = EarlyExitEngine(make_net(), 0.3, "cpu")
    with pytest.raises(ValueError, match="one per early exit"):
        engine.set_thresholds([0.1, 0.2])
    with pytest.raises(ValueError, match="finite and >= 0"):
        engine.set_thresholds(float("nan"))
    with pytest.raises(ValueError, match=r"\[batch, 2, 128\]"):
        engine.classify(torch.zeros(3, 128))


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available.*use device 'cpu'"):
            resolve_device("cuda:0")
    with pytest.raises(ValueError, match="auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
