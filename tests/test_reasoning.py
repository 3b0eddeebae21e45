"""Tests of survey_models.reasoning: the data generators' labels, formats and evaluation."""

import pytest
import torch

from survey_models import reasoning as R
from survey_models import train
from survey_models.transformer import GPT, lm_loss


def test_parity_direct_labels_and_mask():
    bits = R.random_bits(200, 12, seed=0)
    task = R.parity_task(bits)
    assert task.x.shape == (200, 13) and task.prompt_length == 13
    # Brute-force parity from Python ints.
    expected = torch.tensor([sum(row) % 2 for row in bits.tolist()])
    assert torch.equal(task.answers[:, 0], expected)
    assert torch.equal(task.y[:, -1], expected)
    assert (task.y[:, :-1] == R.IGNORE).all()  # only the answer is scored
    assert torch.equal(task.full[:, :12], bits)
    assert (task.full[:, 12] == 2).all()


def test_parity_chain_of_thought_is_running_xor():
    bits = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 1]])
    task = R.parity_task(bits, chain_of_thought=True)
    full = task.full
    assert full.tolist() == [[1, 0, 1, 1, 2, 1, 1, 0, 1], [0, 0, 0, 1, 2, 0, 0, 0, 1]]
    assert task.answers[:, 0].tolist() == [1, 1]
    assert task.generated_length == 4
    # Targets: everything after "=" is scored, nothing before.
    assert (task.y[:, :4] == R.IGNORE).all()
    assert task.y[:, 4:].tolist() == [[1, 1, 0, 1], [0, 0, 0, 1]]


def test_random_bits_distinct_and_bad_arguments():
    bits = R.random_bits(4096, 12, seed=3)
    assert torch.unique(bits, dim=0).shape[0] == 4096
    with pytest.raises(ValueError, match="n must be at most"):
        R.random_bits(5000, 12)
    with pytest.raises(ValueError, match="n_bits"):
        R.random_bits(3, 0)
    with pytest.raises(ValueError, match="bits must hold only 0 and 1"):
        R.parity_task(torch.tensor([[0, 2]]))


def test_addition_plain_labels():
    a, b = torch.tensor([44, 999, 0, 357]), torch.tensor([417, 1, 0, 486])
    task = R.addition_task(a, b, 3)
    assert [R.decode_addition(s) for s in task.full] == [
        "044+417=0461",
        "999+001=1000",
        "000+000=0000",
        "357+486=0843",
    ]
    sums = task.answers @ torch.tensor([1000, 100, 10, 1])
    assert torch.equal(sums, a + b)
    assert task.prompt_length == 8 and task.generated_length == 4


def test_addition_scratchpad_columns():
    assert R.addition_scratchpad(357, 486, 3) == [(7, 6, 0, 3, 1), (5, 8, 1, 4, 1), (3, 4, 1, 8, 0)]
    task = R.addition_task(torch.tensor([357]), torch.tensor([486]), 3, scratchpad=True)
    assert R.decode_addition(task.full[0]) == "357+486=76031;58141;34180;>0843"
    assert (task.y[0, :7] == R.IGNORE).all() and (task.y[0, 7:] != R.IGNORE).all()


def test_addition_random_sums_brute_force():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randint(0, 100, (300,), generator=g), torch.randint(0, 100, (300,), generator=g)
    for pad in (False, True):
        task = R.addition_task(a, b, 2, scratchpad=pad)
        for ai, bi, text in zip(a.tolist(), b.tolist(), map(R.decode_addition, task.full)):
            assert int(text[-3:]) == ai + bi


def test_addition_bad_arguments():
    with pytest.raises(ValueError, match="a must lie in"):
        R.addition_task(torch.tensor([1000]), torch.tensor([1]), 3)
    with pytest.raises(ValueError, match="b must be a 1-D int64"):
        R.addition_task(torch.tensor([1]), torch.tensor([1.0]), 3)
    with pytest.raises(ValueError, match="same shape"):
        R.addition_task(torch.tensor([1, 2]), torch.tensor([1]), 3)
    with pytest.raises(ValueError, match="n_digits"):
        R.addition_task(torch.tensor([1]), torch.tensor([1]), 0)


def test_modular_addition_and_split():
    task = R.modular_addition_task(7)
    assert len(task) == 49 and task.vocab_size == 8
    assert torch.equal(task.answers[:, 0], (task.x[:, 0] + task.x[:, 1]) % 7)
    assert (task.x[:, 2] == 7).all()
    assert task.y[:, :2].eq(R.IGNORE).all()
    tr, te = R.split_task(task, 0.4, seed=0)
    assert len(tr) == 20 and len(te) == 29
    pairs = {tuple(r) for r in tr.x[:, :2].tolist()}
    assert not pairs & {tuple(r) for r in te.x[:, :2].tolist()}
    with pytest.raises(ValueError, match="p must be at least 2"):
        R.modular_addition_task(1)
    with pytest.raises(ValueError, match="train_fraction"):
        R.split_task(task, 1.0)


class _Oracle(torch.nn.Module):
    """A 'model' that continues parity sequences correctly: checks exact_match's plumbing."""

    def generate(self, idx, max_new_tokens, greedy=True):
        n_bits = idx.shape[1] - 1
        bits = idx[:, :n_bits]
        running = torch.cumsum(bits, 1) % 2
        return torch.cat([idx, running[:, -max_new_tokens:]], dim=1)


def test_exact_match_with_oracle_and_wrong_model():
    bits = R.random_bits(64, 6, seed=0)
    for cot in (False, True):
        task = R.parity_task(bits, chain_of_thought=cot)
        assert R.exact_match(_Oracle(), task) == 1.0

    class Zero(torch.nn.Module):
        def generate(self, idx, max_new_tokens, greedy=True):
            return torch.cat([idx, torch.zeros(idx.shape[0], max_new_tokens, dtype=torch.long)], 1)

    task = R.parity_task(bits)
    expected = (task.answers[:, 0] == 0).float().mean().item()
    assert R.exact_match(Zero(), task) == pytest.approx(expected)
    with pytest.raises(TypeError, match="generate"):
        R.exact_match(torch.nn.Linear(2, 2), task)


def test_gpt_learns_chain_of_thought_parity():
    # Training improves with a bound: the tiny GPT of the gallery, trained on all 64 six-bit
    # strings with running parities, writes every chain correctly (exact match 1.0).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        task = R.parity_task(R.random_bits(64, 6, seed=0), chain_of_thought=True)
        model = GPT(task.vocab_size, task.x.shape[1], n_layer=2, n_head=4, d_model=64)
        before = R.exact_match(model, task)
        hist = train.fit(
            model, lm_loss, (task.x, task.y), steps=300, batch_size=64, lr=1e-3, seed=0
        )
        after = R.exact_match(model, task)
    finally:
        torch.set_num_threads(threads)
    assert before <= 0.6
    assert hist.train_loss[-1] < 0.05
    assert after == 1.0


def test_fit_callback_sees_each_log_point():
    # The grokking example measures accuracy through fit's callback: it must be called at
    # every logged step with the model being trained.
    model = torch.nn.Linear(3, 1)
    x, y = torch.randn(20, 3), torch.randn(20, 1)
    seen = []

    def callback(step, m):
        assert m is model
        m.eval()
        seen.append(step)

    train.fit(
        model,
        lambda m, a, b: ((m(a) - b) ** 2).mean(),
        (x, y),
        steps=30,
        batch_size=5,
        log_every=10,
        callback=callback,
    )
    assert seen == [10, 20, 30]
