"""Tests of survey_models.reasoning.verifiers: exact step labels, the verifier's read-out,
best-of-N selection on constructed cases, bad input."""

import pytest
import torch
import torch.nn.functional as F

from survey_models import reasoning, train
from survey_models.reasoning import verifiers as V
from survey_models.reasoning.sampling import verifiable_reward

N_DIGITS = 3
LENGTH = 9 * N_DIGITS + 4  # 31


def _full(a: list[int], b: list[int]) -> torch.Tensor:
    task = reasoning.addition_task(torch.tensor(a), torch.tensor(b), N_DIGITS, scratchpad=True)
    return task.full


def _tokens(text: str) -> torch.Tensor:
    return torch.tensor([reasoning.ADDITION_VOCAB.index(c) for c in text])


def _brute_force_labels(text: str, n: int) -> list[bool]:
    """Local step labels of one scratchpad written as text, by plain Python."""
    a, b, pad = text[:n], text[n + 1 : 2 * n + 1], text[2 * n + 2 :]  # the prompt is intact
    cols, answer = pad[: 6 * n], pad[6 * n :]
    labels, carry = [], "0"
    for i in range(n):
        col = cols[6 * i : 6 * i + 6]
        ok = all(ch.isdigit() for ch in col[:5]) and col[5] == ";"
        if ok:
            ai, bi, ci, si, co = (int(ch) for ch in col[:5])
            ok = (
                col[0] == a[n - 1 - i]
                and col[1] == b[n - 1 - i]
                and col[2] == carry
                and si == (ai + bi + ci) % 10
                and co == (ai + bi + ci) // 10
            )
        labels.append(ok)
        carry = col[4]
    written = cols[6 * (n - 1) + 4] + "".join(cols[6 * i + 3] for i in reversed(range(n)))
    labels.append(answer == ">" + written)
    return labels


def test_step_ends_are_the_semicolons_and_the_last_token():
    full = _full([44, 958], [417, 67])
    ends = V.scratchpad_step_ends(N_DIGITS)
    assert ends.tolist() == [13, 19, 25, 30]
    semi = reasoning.ADDITION_VOCAB.index(";")
    assert (full[:, ends[:-1]] == semi).all()
    assert full.shape[1] == LENGTH == int(ends[-1]) + 1


def test_true_scratchpads_have_every_step_right():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randint(0, 1000, (2, 300), generator=g)
    full = reasoning.addition_task(a, b, N_DIGITS, scratchpad=True).full
    assert V.scratchpad_step_labels(full, N_DIGITS).all()
    assert V.scratchpad_step_labels(full, N_DIGITS, prefix=True).all()
    # Other digit counts: the layout follows n_digits.
    full2 = reasoning.addition_task(a % 100, b % 100, 2, scratchpad=True).full
    assert V.scratchpad_step_labels(full2, 2).shape == (300, 3)
    assert V.scratchpad_step_labels(full2, 2).all()


def test_a_wrong_carry_in_column_two():
    #            col 0  col 1  col 2
    right = "044+417=47011;41160;04040;>0461"
    # Column 2 (index 1) writes the carry 1 instead of 0; column 3 copies it faithfully
    # and adds correctly; the answer matches what was written (and is wrong).
    copied = "044+417=47011;41161;04150;>0561"
    # Column 3 ignores the written carry and uses the true one: the answer is right.
    ignored = "044+417=47011;41161;04040;>0461"
    assert [V.scratchpad_step_labels(_tokens(s)[None], 3)[0].tolist() for s in (right,)] == [
        [True] * 4
    ]
    # Local labels: only the step that made the mistake is wrong ...
    assert V.scratchpad_step_labels(_tokens(copied)[None], 3)[0].tolist() == [
        True,
        False,
        True,
        True,
    ]
    # ... prefix labels: every step from it on is wrong.
    assert V.scratchpad_step_labels(_tokens(copied)[None], 3, prefix=True)[0].tolist() == [
        True,
        False,
        False,
        False,
    ]
    # A right final answer reached through wrong steps: the outcome label is 1, the
    # process labels are not all right (column 3 did not copy the written carry).
    labels = V.scratchpad_step_labels(_tokens(ignored)[None], 3)[0].tolist()
    assert labels == [True, False, False, True]
    truth = _tokens(right)[-4:][None]
    reward = verifiable_reward(_tokens(ignored)[None], truth)
    assert reward.tolist() == [1.0]


def test_labels_agree_with_brute_force_on_corrupted_scratchpads():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randint(0, 1000, (2, 400), generator=g)
    full = reasoning.addition_task(a, b, N_DIGITS, scratchpad=True).full
    # Corrupt one or two tokens after the prompt (any token, digits or not).
    corrupted = full.clone()
    rows = torch.arange(400)
    for _ in range(2):
        pos = torch.randint(8, LENGTH, (400,), generator=g)
        keep = torch.rand(400, generator=g) < 0.5
        new = torch.randint(0, len(reasoning.ADDITION_VOCAB), (400,), generator=g)
        corrupted[rows[keep], pos[keep]] = new[keep]
    got = V.scratchpad_step_labels(corrupted, N_DIGITS)
    for n in range(400):
        text = reasoning.decode_addition(corrupted[n])
        assert got[n].tolist() == _brute_force_labels(text, N_DIGITS), text
    # Prefix labels are the running AND of the local ones; all right <=> the true sequence.
    prefix = V.scratchpad_step_labels(corrupted, N_DIGITS, prefix=True)
    assert torch.equal(prefix, torch.cummin(got.long(), dim=1).values.bool())
    assert torch.equal(got.all(1), (corrupted == full).all(1))


def _hand_set_verifier(positions: list[int], good: int) -> V.Verifier:
    """A verifier whose logit at position t is +8 if token t is ``good`` and -8 if not.

    The residual branches and positions are zeroed, so the stream at t is the token's
    embedding: +v for ``good``, -v otherwise, with v = (1, -1, …) (zero mean, unit
    variance: the final LayerNorm leaves it unchanged), read out by the head v.
    """
    v = V.Verifier(14, LENGTH, positions, n_layer=1, n_head=2, d_model=8).double()
    vec = torch.tensor([1.0, -1.0] * 4, dtype=torch.float64)
    with torch.no_grad():
        for p in v.trunk.blocks[0].parameters():
            p.zero_()
        v.trunk.position_embedding.weight.zero_()
        v.trunk.token_embedding.weight.copy_(-vec.expand(14, 8))
        v.trunk.token_embedding.weight[good] = vec
        v.trunk.head.weight.copy_(vec[None])
    return v


def test_best_of_n_picks_the_solution_the_verifier_ranks_highest():
    # Problem 0: the right solution (answer 0461, last token 1) is the third candidate;
    # problem 1: two candidates end in 1, the first of them wins the tie.
    right = _tokens("044+417=47011;41160;04040;>0461")
    wrong1 = _tokens("044+417=47011;41161;04150;>0562")
    wrong2 = _tokens("044+417=47011;41160;04040;>0460")
    cands = torch.stack(
        [torch.stack([wrong1, wrong2, right]), torch.stack([wrong2, right, right.flip(0)])]
    )
    cands[1, 2, -1] = 1  # another candidate ending in 1, after the first
    verifier = _hand_set_verifier([LENGTH - 1], good=1)  # an outcome verifier
    scores = V.score_candidates(verifier, cands)
    assert scores.shape == (2, 3)
    torch.testing.assert_close(scores[0], torch.sigmoid(torch.tensor([-8.0, -8.0, 8.0])).double())
    best = V.best_of_n(cands, scores)
    assert torch.equal(best[0], right)
    assert torch.equal(best[1], right)
    # Best-of-1 is the first sample.
    assert torch.equal(V.best_of_n(cands[:, :1], scores[:, :1]), cands[:, 0])


def test_best_of_n_with_hand_set_scores_and_an_exact_process_scorer():
    g = torch.Generator().manual_seed(2)
    cands = torch.randint(0, 14, (4, 5, 7), generator=g)
    scores = torch.tensor(
        [[0.1, 0.9, 0.2, 0.9, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0], [0.0] * 5, [0.3, 0.2, 0.1, 0.4, 0.5]]
    )
    picked = V.best_of_n(cands, scores)
    for b, i in enumerate([1, 0, 0, 4]):  # argmax, ties to the first
        assert torch.equal(picked[b], cands[b, i])
    # The exact process labels as a scorer pick a right solution whenever one exists.
    a, bb = torch.randint(0, 1000, (2, 30), generator=g)
    full = reasoning.addition_task(a, bb, N_DIGITS, scratchpad=True).full
    cands = full[:, None, :].repeat(1, 6, 1)
    noise = torch.randint(8, LENGTH, (30, 6), generator=g)
    cands.scatter_(2, noise[..., None], torch.randint(0, 10, (30, 6, 1), generator=g))
    cands[::2, 4] = full[::2]  # every other problem has one untouched candidate
    oracle = V.scratchpad_step_labels(cands.reshape(-1, LENGTH), N_DIGITS).all(1)
    oracle = oracle.reshape(30, 6).double()
    best = V.best_of_n(cands, oracle)
    has_right = oracle.amax(1).bool()
    assert has_right[::2].all()
    assert (best[has_right] == full[has_right]).all()


def test_process_score_is_the_product_or_the_min_of_step_scores():
    ends = V.scratchpad_step_ends(N_DIGITS).tolist()
    torch.manual_seed(0)
    prm = V.Verifier(14, LENGTH, ends, n_layer=1, n_head=2, d_model=8).double()
    torch.nn.init.normal_(prm.trunk.head.weight)
    torch.nn.init.normal_(prm.trunk.head.bias)
    seqs = _full([12, 345, 999], [987, 655, 1])
    logits = prm(seqs)
    assert logits.shape == (3, 4)
    torch.testing.assert_close(prm.score(seqs), torch.sigmoid(logits).prod(1).detach())
    prm.reduce = "min"
    torch.testing.assert_close(prm.score(seqs), torch.sigmoid(logits).amin(1).detach())
    # Read-out = the trunk's scalar at those positions; causal: a later token does not
    # move an earlier step's score (masked attention weights are exactly zero).
    whole = prm.trunk(seqs)[..., 0]
    assert torch.equal(logits, whole[:, ends])
    changed = seqs.clone()
    changed[:, ends[1] + 1 :] = 0
    torch.testing.assert_close(prm(changed)[:, :2], logits[:, :2], rtol=0, atol=1e-12)
    # A hand-set process verifier ranks a solution with every read-out token good first.
    semi = reasoning.ADDITION_VOCAB.index(";")
    hand = _hand_set_verifier(ends[:-1], good=semi)
    broken = seqs.clone()
    broken[0, ends[0]] = 5
    broken[1, ends[1]] = 5
    broken[1, ends[2]] = 5
    s = hand.score(torch.cat([broken[:2], seqs[2:]]))
    assert s[2] > s[0] > s[1]


def test_verifier_loss_is_bce_and_a_verifier_learns_a_simple_rule():
    ends = V.scratchpad_step_ends(N_DIGITS).tolist()
    torch.manual_seed(0)
    prm = V.Verifier(14, LENGTH, ends, n_layer=1, n_head=2, d_model=8)
    seqs = _full([12, 345], [987, 655])
    labels = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    want = F.binary_cross_entropy(torch.sigmoid(prm(seqs)), labels)
    torch.testing.assert_close(V.verifier_loss(prm, seqs, labels), want)
    # An outcome verifier trained with train.fit on "is the final digit even?".
    g = torch.Generator().manual_seed(3)
    a, b = torch.randint(0, 1000, (2, 256), generator=g)
    full = reasoning.addition_task(a, b, N_DIGITS, scratchpad=True).full
    label = (full[:, -1:] % 2 == 0).float()
    train.set_seed(0)
    orm = V.Verifier(14, LENGTH, [LENGTH - 1], n_layer=1, n_head=2, d_model=16)
    train.fit(orm, V.verifier_loss, (full, label), steps=80, batch_size=64, lr=2e-2)
    # The rule is a function of the last token alone: learnt to (near) perfection; a
    # wrong read-out position would leave it at chance (about 0.5).
    acc = ((orm.score(full) > 0.5).float() == label[:, 0]).float().mean().item()
    assert acc > 0.95


def test_from_generator_copies_the_trunk_and_leaves_the_generator_alone():
    from survey_models.transformer import GPT

    torch.manual_seed(0)
    gen = GPT(14, LENGTH, n_layer=1, n_head=2, d_model=8)
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    v = V.Verifier.from_generator(gen, [LENGTH - 1])
    for k, w in gen.state_dict().items():
        assert torch.equal(w, before[k])
        if not k.startswith("head."):
            assert torch.equal(v.trunk.state_dict()[k], w)
    with torch.no_grad():
        v.trunk.token_embedding.weight.add_(1.0)
    assert torch.equal(gen.token_embedding.weight, before["token_embedding.weight"])
    with pytest.raises(TypeError, match="generator"):
        V.Verifier.from_generator(torch.nn.Linear(2, 2), [0])


def test_bad_input():
    full = _full([12], [34])
    with pytest.raises(ValueError, match="sequences must have length"):
        V.scratchpad_step_labels(full[:, :-1], N_DIGITS)
    with pytest.raises(ValueError, match="sequences"):
        V.scratchpad_step_labels(full + 20, N_DIGITS)
    with pytest.raises(TypeError, match="n_digits"):
        V.scratchpad_step_labels(full, 3.0)
    with pytest.raises(ValueError, match="positions"):
        V.Verifier(14, LENGTH, [LENGTH])
    with pytest.raises(ValueError, match="positions"):
        V.Verifier(14, LENGTH, [])
    with pytest.raises(TypeError, match="positions"):
        V.Verifier(14, LENGTH, [1.5])
    with pytest.raises(ValueError, match="reduce"):
        V.Verifier(14, LENGTH, [3], reduce="mean")
    verifier = V.Verifier(14, LENGTH, [LENGTH - 1])
    with pytest.raises(ValueError, match="block_size"):
        verifier(full[:, :-1])
    with pytest.raises(ValueError, match="labels"):
        V.verifier_loss(verifier, full, torch.ones(1, 2))
    with pytest.raises(TypeError, match="labels"):
        V.verifier_loss(verifier, full, torch.ones(1, 1, dtype=torch.long))
    cands = full[:, None, :]
    with pytest.raises(ValueError, match="scores"):
        V.best_of_n(cands, torch.ones(1, 2))
    with pytest.raises(ValueError, match="scores"):
        V.best_of_n(cands, torch.tensor([[float("nan")]]))
    with pytest.raises(TypeError, match="candidates"):
        V.best_of_n(cands.float(), torch.ones(1, 1))
    with pytest.raises(ValueError, match="candidates"):
        V.best_of_n(full, torch.ones(1, 1))
    with pytest.raises(TypeError, match="verifier"):
        V.score_candidates(torch.nn.Linear(2, 2), cands)


def test_roc_auc_matches_pairwise_count_with_ties():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (40,), generator=g).float()  # many exact ties
    labels = torch.randint(0, 2, (40,), generator=g)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = [(1.0 if p > q else 0.5 if p == q else 0.0) for p in pos for q in neg]
    assert V.roc_auc(scores, labels) == pytest.approx(sum(pairs) / len(pairs), abs=1e-12)


def test_roc_auc_known_answers_and_bad_input():
    labels = torch.tensor([0, 0, 1, 1])
    assert V.roc_auc(torch.tensor([0.1, 0.2, 0.3, 0.4]), labels) == 1.0
    assert V.roc_auc(torch.tensor([0.4, 0.3, 0.2, 0.1]), labels) == 0.0
    assert V.roc_auc(torch.ones(4), labels.bool()) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        V.roc_auc(torch.rand(3), torch.ones(3))
    with pytest.raises(ValueError, match="labels"):
        V.roc_auc(torch.rand(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        V.roc_auc(torch.rand(3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="scores"):
        V.roc_auc(torch.tensor([0.0, float("nan")]), torch.tensor([0, 1]))
