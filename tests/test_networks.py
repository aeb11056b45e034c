# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The networks match the paper's tables and generalise to any set of exits."""

import pytest
import torch
from gnuradio.eeamc.networks import (
    PRESETS,
    build_network,
    count_parameters,
    fold_batchnorm,
    resolve_exits,
)


def test_parameter_counts_match_the_authors_code():
    assert count_parameters(build_network("baseline")) == 119_418
    for name in ("v0", "v1", "v2", "v3"):
        assert count_parameters(build_network(name)) == 187_428, name


@pytest.mark.parametrize(
    ("arch", "tap_shape"),
    [("v0", (64, 64)), ("v1", (64, 64)), ("v2", (64, 32)), ("v3", (32, 32))],
)
def test_presets_branch_where_the_paper_says(arch, tap_shape):
    net = build_network(arch).eval()
    x = torch.randn(5, 2, 128)
    logits, tapped = net.forward_to_exit(x, 0)
    assert tuple(tapped.shape[1:]) == tap_shape
    assert logits.shape == (5, 10)
    outputs = net(x)
    assert [tuple(o.shape) for o in outputs] == [(5, 10), (5, 10)]
    torch.testing.assert_close(outputs[0], logits)


def test_resuming_from_the_saved_tensor_equals_the_full_pass():
    net = build_network("v1").eval()
    x = torch.randn(4, 2, 128)
    _, saved = net.forward_to_exit(x, 0)
    resumed, _ = net.forward_to_exit(saved, 1, resume_from=1)
    torch.testing.assert_close(resumed, net(x)[-1])


def trained_looking(arch: str) -> torch.nn.Module:
    """A network whose BatchNorm layers hold running statistics and affine parameters far from their
    initial values, as after training (folding the initial identity BatchNorm would prove nothing)."""
    torch.manual_seed(5)
    net = build_network(arch)
    for layer in net.modules():
        if isinstance(layer, torch.nn.BatchNorm1d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.2, 3.0)
            torch.nn.init.uniform_(layer.weight, 0.5, 2.0)
            torch.nn.init.uniform_(layer.bias, -0.3, 0.3)
    return net.train()


@pytest.mark.parametrize("arch", ["baseline", "v1", "conv1,conv3,conv5"])
def test_folding_batchnorm_keeps_the_outputs_and_leaves_the_network_alone(arch):
    net = trained_looking(arch)
    before = {key: value.clone() for key, value in net.state_dict().items()}
    folded = fold_batchnorm(net)
    assert not any(isinstance(layer, torch.nn.BatchNorm1d) for layer in folded.modules())
    assert not folded.training and net.training  # the original stays trainable, in its own mode
    assert all(torch.equal(before[key], value) for key, value in net.state_dict().items())
    x = torch.randn(8, 2, 128) * 3
    with torch.no_grad():
        expected = net.eval()(x)
        for ours, theirs in zip(folded(x), expected):
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
    assert folded.macs_per_exit() == net.macs_per_exit()


def test_three_exit_cascade_is_one_configuration_away():
    net = build_network("conv1,conv3,conv5").eval()
    assert net.num_exits == 4
    outputs = net(torch.randn(3, 2, 128))
    assert len(outputs) == 4 and all(o.shape == (3, 10) for o in outputs)
    assert count_parameters(net) == 119_418 + 3 * 68_010


def test_macs_per_window_match_the_layer_table():
    # conv1 49k, conv2 786k, conv3 393k, conv4 197k, conv5 98k, conv6 49k, linear 82k (spec section 2)
    assert build_network("baseline").macs_per_exit() == [1_655_424]
    early, full = build_network("v1").macs_per_exit()
    assert early == 49_152 + 786_432 + 67_904  # conv1 + conv2 + the branch
    assert full == 1_655_424 + 67_904
    assert build_network("v1").macs_per_exit(enabled=[False]) == [903_488, 1_655_424]


def test_other_input_lengths_and_class_counts():
    net = build_network("v2", num_classes=24, input_length=1024).eval()
    assert [o.shape for o in net(torch.randn(2, 2, 1024))] == [(2, 24), (2, 24)]


@pytest.mark.parametrize("arch", ["v9", "conv9", "conv5,conv2", "conv2,conv2", "conv6"])
def test_bad_architectures_are_refused_clearly(arch):
    with pytest.raises(ValueError, match="exit point"):
        resolve_exits(arch)


def test_presets_are_named_as_in_the_paper():
    assert set(PRESETS) == {"baseline", "v0", "v1", "v2", "v3"}
