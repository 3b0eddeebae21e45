"""Tests of survey_models.vision_language (image-conditioned GPT) and of GPT's ``prefix``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from survey_models.transformer import GPT
from survey_models.vision_language import (
    END,
    HELDOUT_QUESTIONS,
    KINDS,
    TRAIN_OPENERS,
    TRAIN_QUESTIONS,
    Questions,
    VisionLanguageModel,
    answer,
    digit_answer,
    digit_questions,
    qa_sequences,
    qa_tokenizer,
    question_only_accuracy,
    vqa_loss,
)

LENGTH = 14


@pytest.fixture(scope="module")
def tok():
    return qa_tokenizer(TRAIN_QUESTIONS)


def small_model(tok, use_image: bool = True, seed: int = 0) -> VisionLanguageModel:
    torch.manual_seed(seed)
    return VisionLanguageModel(
        tok.vocab_size, LENGTH, n_prefix=3, feature_dim=16, encoder_hidden=32,
        n_layer=2, n_head=2, d_model=16, use_image=use_image,
    ).eval()  # fmt: skip


def batch(tok, n: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 64, generator=g)
    labels = torch.randint(10, (n,), generator=g)
    q = digit_questions(labels, TRAIN_QUESTIONS, seed=seed)
    x, y = qa_sequences(tok, q.text, q.answer, LENGTH)
    return images, q, x, y


# --------------------------------------------------------------------------- GPT prefix
def test_gpt_default_is_bit_identical_to_the_plain_computation():
    torch.manual_seed(0)
    gpt = GPT(11, 8, n_layer=2, n_head=2, d_model=16).eval()
    idx = torch.randint(11, (3, 8))
    # the computation GPT.forward did before the prefix argument existed
    h = gpt.token_embedding(idx) + gpt.position_embedding(torch.arange(8))
    for block in gpt.blocks:
        h = block(h, is_causal=True)
    before = gpt.head(gpt.norm(h))
    assert torch.equal(gpt(idx), before)
    assert torch.equal(gpt(idx, prefix=None), before)
    _, maps = gpt(idx, return_attention=True)
    assert maps[0].shape == (3, 2, 8, 8)


def test_gpt_prefix_of_token_embeddings_equals_the_tokens_themselves():
    # A prefix made of the first p tokens' embeddings is the same sequence: same logits.
    torch.manual_seed(1)
    gpt = GPT(11, 8, n_layer=2, n_head=2, d_model=16).eval()
    idx = torch.randint(11, (3, 8))
    prefix = gpt.token_embedding(idx[:, :3])
    assert torch.equal(gpt(idx[:, 3:], prefix=prefix), gpt(idx)[:, 3:])
    _, maps = gpt(idx[:, 3:], return_attention=True, prefix=prefix)
    assert maps[0].shape == (3, 2, 8, 8)


def test_gpt_prefix_bad_input():
    gpt = GPT(11, 8, n_layer=1, n_head=2, d_model=16)
    idx = torch.randint(11, (2, 5))
    with pytest.raises(ValueError, match="prefix"):
        gpt(idx, prefix=torch.zeros(2, 3, 8))  # wrong width
    with pytest.raises(ValueError, match="prefix"):
        gpt(idx, prefix=torch.zeros(3, 3, 16))  # wrong batch
    with pytest.raises(ValueError, match="prefix"):
        gpt(idx, prefix=torch.zeros(2, 4, 16))  # 4 + 5 > block_size 8
    with pytest.raises(TypeError, match="prefix"):
        gpt(idx, prefix=torch.zeros(2, 3, 16, dtype=torch.long))


# --------------------------------------------------------------------------- questions
def test_digit_answer_known_values():
    assert digit_answer(7, "digit") == "7"
    assert digit_answer(7, "odd") == "是" and digit_answer(7, "even") == "否"
    assert digit_answer(0, "even") == "是"
    assert digit_answer(3, "gt", 3) == "否" and digit_answer(3, "lt", 3) == "否"
    assert digit_answer(2, "lt", 5) == "是" and digit_answer(9, "gt", 8) == "是"
    with pytest.raises(ValueError, match="relation"):
        digit_answer(3, "bigger")
    with pytest.raises(ValueError, match="label"):
        digit_answer(10, "digit")


def test_templates_cover_every_kind_and_are_disjoint():
    train_texts = {t.text for t in TRAIN_QUESTIONS}
    assert not train_texts & {t.text for t in HELDOUT_QUESTIONS}
    for templates in (TRAIN_QUESTIONS, HELDOUT_QUESTIONS):
        assert {t.kind for t in templates} == set(KINDS)


def test_digit_questions_are_consistent_and_seeded():
    labels = torch.arange(10).repeat(5)
    q = digit_questions(labels, HELDOUT_QUESTIONS, seed=3)
    assert q == digit_questions(labels, HELDOUT_QUESTIONS, seed=3)
    for label, a, (relation, n) in zip(labels.tolist(), q.answer, q.meaning):
        assert a == digit_answer(label, relation, n)
    assert set(q.answer) <= {str(d) for d in range(10)} | {"是", "否"}
    with pytest.raises(TypeError, match="templates"):
        digit_questions(labels, ["这是几？"])
    with pytest.raises(TypeError, match="openers"):
        digit_questions(labels, TRAIN_QUESTIONS, openers="请问")


def test_openers_never_make_a_heldout_question():
    labels = torch.arange(10).repeat(30)
    q = digit_questions(labels, TRAIN_QUESTIONS, seed=1, openers=TRAIN_OPENERS)
    plain = digit_questions(labels, TRAIN_QUESTIONS, seed=1, openers=("",))
    assert all(any(t.startswith(o) for o in TRAIN_OPENERS) for t in q.text)
    assert len({t[:2] for t in q.text}) > len({t[:2] for t in plain.text})
    heldout = {t.text.format(n=n) for t in HELDOUT_QUESTIONS for n in range(10)}
    every = {
        o + t.text.format(n=n) for o in TRAIN_OPENERS for t in TRAIN_QUESTIONS for n in range(10)
    }
    assert not every & heldout
    with pytest.raises(ValueError, match="labels"):
        digit_questions(torch.tensor([10]), TRAIN_QUESTIONS)


def test_question_only_accuracy_known_answer():
    train = Questions(
        ["是奇数吗？"] * 3 + ["比 9 大吗？"] * 2,
        ["是", "是", "否", "否", "否"],
        ["奇偶"] * 3 + ["比较"] * 2,
        [("odd", 0)] * 3 + [("gt", 9)] * 2,
    )
    test = Questions(
        ["它是奇数吗？", "它是奇数吗？", "它比 9 大吗？", "这是几？"],
        ["是", "否", "否", "3"],
        ["奇偶", "奇偶", "比较", "数字"],
        [("odd", 0), ("odd", 0), ("gt", 9), ("digit", 0)],
    )
    acc = question_only_accuracy(train, test)
    assert acc == {"数字": 0.0, "奇偶": 0.5, "比较": 1.0, "总体": 0.5}


def test_qa_sequences_score_only_the_answer_and_end(tok):
    x, y = qa_sequences(tok, ["这是几？", "比 3 大吗？"], ["7", "是"], LENGTH)
    assert x.shape == y.shape == (2, LENGTH)
    assert tok.decode(x[0]) == "这是几？7。"  # the end mark is also read (its target is padding)
    for row, (q, a) in enumerate((("这是几？", "7"), ("比 3 大吗？", "是"))):
        scored = (y[row] != -100).nonzero().flatten().tolist()
        assert scored == list(range(len(q) - 1, len(q) + len(a)))
        assert tok.decode(y[row, scored]) == a + END
        # each scored target is the next input character (or the end mark)
        assert torch.equal(y[row, scored[:-1]], x[row, scored[1:]])
    with pytest.raises(ValueError, match="questions and answers"):
        qa_sequences(tok, ["这是几？"], [], LENGTH)
    with pytest.raises(ValueError, match="texts"):
        qa_sequences(tok, ["这是几？"], ["7"], 4)  # too long for length


# --------------------------------------------------------------------------- the model
def test_prefix_shapes(tok):
    images = torch.rand(5, 64)
    for use_image in (True, False):
        model = small_model(tok, use_image)
        assert model.prefix(images).shape == (5, 3, 16)
        x = torch.randint(tok.vocab_size, (5, LENGTH))
        assert model(images, x).shape == (5, LENGTH, tok.vocab_size)


def test_text_only_model_ignores_the_image_exactly(tok):
    model = small_model(tok, use_image=False)
    images, _, x, _ = batch(tok)
    assert torch.equal(model(images, x), model(torch.rand_like(images), x))
    vlm = small_model(tok, use_image=True)
    assert not torch.equal(vlm(images, x), vlm(torch.rand_like(images), x))


def test_loss_counts_only_answer_tokens(tok):
    model = small_model(tok)
    images, _, x, y = batch(tok)
    scored = y != -100

    class Garbled(nn.Module):
        """The model's logits, with noise at every position whose target is not scored."""

        def forward(self, images, tokens):
            logits = model(images, tokens)
            noise = 100 * torch.randn_like(logits)
            return torch.where(scored.unsqueeze(-1), logits, noise)

    loss = vqa_loss(model, images, x, y)
    assert torch.equal(vqa_loss(Garbled(), images, x, y), loss)
    # brute force: the mean negative log-probability of the scored targets
    logp = torch.log_softmax(model(images, x), -1)
    brute = -logp[scored, y[scored]].mean()
    assert torch.allclose(loss, brute, rtol=0, atol=1e-6)  # two float32 sums of ~12 terms
    # the gradient reaches the logits of the answer positions only
    logits = model(images, x).detach().requires_grad_(True)

    class Fixed(nn.Module):
        def forward(self, images, tokens):
            return logits

    vqa_loss(Fixed(), images, x, y).backward()
    assert bool((logits.grad[~scored] == 0).all()) and bool((logits.grad[scored] != 0).any())
    with pytest.raises(ValueError, match="-100"):
        vqa_loss(model, images, x, torch.full_like(y, -100))


def test_answer_logits_do_not_depend_on_later_tokens(tok):
    model = small_model(tok)
    images, _, x, _ = batch(tok)
    logits = model(images, x)
    for t in (0, 4, LENGTH - 2):
        later = x.clone()
        later[:, t + 1 :] = torch.randint(tok.vocab_size, later[:, t + 1 :].shape)
        assert torch.equal(model(images, later)[:, : t + 1], logits[:, : t + 1])


def test_greedy_answer_is_deterministic_and_matches_argmax(tok):
    model = small_model(tok)
    images, q, _, _ = batch(tok, n=8)
    first = answer(model, images, q.text, tok, max_new_tokens=2)
    assert first == answer(model, images, q.text, tok, max_new_tokens=2)
    # the first answer character is the argmax after [image tokens; question]
    i = 0
    ids = tok.encode(q.text[i]).unsqueeze(0)
    top = int(model(images[i : i + 1], ids)[0, -1].argmax())
    expected = "" if tok.itos[top] == END else tok.itos[top]
    assert first[i].startswith(expected) and (expected or first[i] == "")
    assert model.training is False


def test_bad_input(tok):
    with pytest.raises(TypeError, match="use_image"):
        VisionLanguageModel(tok.vocab_size, LENGTH, use_image=1)
    with pytest.raises(ValueError, match="n_prefix"):
        VisionLanguageModel(tok.vocab_size, LENGTH, n_prefix=0)
    with pytest.raises(ValueError, match="text_length"):
        VisionLanguageModel(tok.vocab_size, 0)
    model = small_model(tok)
    x = torch.randint(tok.vocab_size, (2, LENGTH))
    with pytest.raises(ValueError, match="images"):
        model(torch.rand(2, 63), x)
    with pytest.raises(TypeError, match="images"):
        model(torch.zeros(2, 64, dtype=torch.long), x)
    with pytest.raises(ValueError, match="tokens"):
        model(torch.rand(3, 64), x)
    with pytest.raises(ValueError, match="tokens"):
        model(torch.rand(2, 64), torch.randint(tok.vocab_size, (2, LENGTH + 1)))
    with pytest.raises(ValueError, match="questions"):
        answer(model, torch.rand(2, 64), ["这是几？"], tok)
    with pytest.raises(ValueError, match="questions"):
        answer(model, torch.rand(1, 64), ["这是几？" * 4], tok)
    with pytest.raises(TypeError, match="tokenizer"):
        answer(model, torch.rand(1, 64), ["这是几？"], object())
