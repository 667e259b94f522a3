"""rl_control.algorithms.optim.FusedAdam: bit-identical to torch's fused Adam in every case."""

import copy

import pytest
import torch

from rl_control.algorithms.config import adam
from rl_control.algorithms.optim import FusedAdam


def _pair(lr: float = 1e-2) -> tuple[list[torch.nn.Parameter], ...]:
    g = torch.Generator().manual_seed(0)
    shapes = [(5, 3), (3,), ()]
    ours = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    return ours, theirs


def _grads(params: list[torch.nn.Parameter], seed: int, skip: int | None = None) -> None:
    g = torch.Generator().manual_seed(seed)
    for i, p in enumerate(params):
        p.grad = None if i == skip else torch.randn(p.shape, generator=g)


def _same(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    for pa, pb in zip(a.param_groups[0]["params"], b.param_groups[0]["params"], strict=True):
        assert torch.equal(pa, pb)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(a.state[pa][key], b.state[pb][key]), key


def test_steps_equal_torchs_fused_adam_bit_for_bit_including_a_missing_grad_and_an_lr_change():
    ours, theirs = _pair()
    fast, ref = adam(ours, 1e-2), torch.optim.Adam(theirs, lr=1e-2, fused=True)
    assert isinstance(fast, FusedAdam)
    for step in range(12):
        skip = 1 if step == 5 else None  # torch leaves that parameter (and its count) alone
        if step == 8:  # a schedule writes the group's lr
            fast.param_groups[0]["lr"] = ref.param_groups[0]["lr"] = 3e-3
        for params in (ours, theirs):
            _grads(params, step, skip)
        fast.step()
        ref.step()
        _same(fast, ref)
    assert fast.state[ours[1]]["step"].item() == 11.0
    fast.zero_grad()
    assert all(p.grad is None for p in ours)


def test_a_loaded_state_dict_continues_as_torchs_does():
    ours, theirs = _pair()
    fast, ref = FusedAdam(ours, 1e-2), torch.optim.Adam(theirs, lr=1e-2, fused=True)
    for step in range(3):
        for params in (ours, theirs):
            _grads(params, step)
        fast.step()
        ref.step()
    saved = copy.deepcopy(fast.state_dict())
    assert saved["state"].keys() == ref.state_dict()["state"].keys()
    for step in range(3, 6):  # move on, then go back to the saved state
        _grads(ours, step)
        fast.step()
    fast.load_state_dict(saved)
    with torch.no_grad():
        for p, q in zip(ours, theirs, strict=True):
            p.copy_(q)
    for step in range(3, 7):
        for params in (ours, theirs):
            _grads(params, step)
        fast.step()
        ref.step()
        _same(fast, ref)


def test_closures_and_hooks_take_torchs_step():
    ours, _ = _pair()
    fast = FusedAdam(ours, 1e-2)
    calls = []
    fast.register_step_post_hook(lambda *_: calls.append(1))
    for step in range(3):
        _grads(ours, step)
        fast.step()
    assert calls == [1, 1, 1]

    def closure() -> float:
        _grads(ours, 9)
        return 1.5

    assert fast.step(closure) == 1.5


def test_a_group_added_later_is_stepped_too():
    ours, theirs = _pair()
    extra = torch.nn.Parameter(torch.ones(2))
    fast, ref = FusedAdam(ours[:2], 1e-2), torch.optim.Adam(theirs[:2], lr=1e-2, fused=True)
    for params in (ours, theirs):
        _grads(params, 0)
    fast.step()
    ref.step()
    fast.add_param_group({"params": [extra]})
    extra.grad = torch.ones(2)
    for step in range(1, 3):
        for params in (ours, theirs):
            _grads(params, step)
        extra.grad = torch.ones(2)
        fast.step()
        ref.step()
    _same(fast, ref)
    assert fast.state[extra]["step"].item() == 2.0
    assert extra.detach().tolist() == pytest.approx([1.0 - 2e-2] * 2, abs=1e-6)


def test_a_deep_copy_steps_like_the_original():
    ours, _ = _pair()
    fast = FusedAdam(ours, 1e-2)
    _grads(ours, 0)
    fast.step()
    twin_params, twin = copy.deepcopy((ours, fast))
    for step in range(1, 4):
        for params, opt in ((ours, fast), (twin_params, twin)):
            _grads(params, step)
            opt.step()
    _same(fast, twin)


def test_a_state_dropped_from_outside_starts_afresh_as_in_torch():
    # GI-PPO forgets the moments of a diverged try by deleting the parameter's state
    ours, theirs = _pair()
    fast, ref = FusedAdam(ours, 1e-2), torch.optim.Adam(theirs, lr=1e-2, fused=True)
    for step in range(6):
        if step == 3:
            del fast.state[ours[0]], ref.state[theirs[0]]
        for params, opt in ((ours, fast), (theirs, ref)):
            _grads(params, step)
            opt.step()
        _same(fast, ref)
    assert fast.state[ours[0]]["step"].item() == 3.0
