"""Image-conditioned language models (survey chapter 3, part 2): a GPT that reads an image
as a few "image tokens" in front of a question and writes the answer, in the style of
LLaVA (Liu et al. 2023) and ClipCap, at the scale of 8×8 digits and Chinese questions.

* Questions: :data:`TRAIN_QUESTIONS` and :data:`HELDOUT_QUESTIONS` hold templates of three
  kinds — 数字 (``"这是几？"`` → ``"7"``), 奇偶 (``"是奇数吗？"`` → ``"是"``/``"否"``) and
  比较 (``"比 {n} 大吗？"`` with a number ``n``); :func:`digit_questions` draws questions
  and their answers for a batch of digit labels, :func:`qa_sequences` turns them into
  inputs and targets.
* :class:`VisionLanguageModel` — an image encoder
  (:class:`survey_models.multimodal.ImageEncoder`) gives a feature vector
  :math:`\\boldsymbol{f} = E(\\boldsymbol{x})`; a linear projection maps it to ``n_prefix``
  vectors in the GPT's embedding space,

  .. math::

      [\\boldsymbol{h}_1, \\dots, \\boldsymbol{h}_P] = W\\boldsymbol{f} + \\boldsymbol{b},
      \\qquad \\boldsymbol{h}_k \\in \\mathbb{R}^{d_{\\text{model}}}  \\qquad (1)

  and the GPT (:class:`survey_models.transformer.GPT`, given them as ``prefix``) reads
  ``[h_1..h_P; q_1..q_m; a_1..a_n]``. Training maximises the likelihood of the answer
  tokens only,

  .. math::

      L = -\\frac{1}{|A|}\\sum_{t \\in A} \\log p_\\theta(s_t \\mid \\boldsymbol{h}_{1:P},
      s_{<t}) \\qquad (2)

  where ``A`` is the set of answer positions (the answer characters and the end mark
  ``"。"``); question characters are read, never predicted. With ``use_image=False`` the
  prefix is a learned constant instead (same GPT, same prefix length): a text-only model
  that sees the question but not the image.
* :func:`vqa_loss` is eq. (2) for :func:`survey_models.train.fit`; :func:`answer`
  decodes greedily until the end mark.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_index_tensor, check_positive_int, check_seed, check_tensor
from .multimodal import ImageEncoder
from .text import CharTokenizer
from .transformer import GPT, IGNORE_INDEX

__all__ = [
    "QuestionTemplate",
    "TRAIN_QUESTIONS",
    "HELDOUT_QUESTIONS",
    "TRAIN_OPENERS",
    "KINDS",
    "END",
    "Questions",
    "digit_answer",
    "digit_questions",
    "qa_tokenizer",
    "qa_sequences",
    "question_only_accuracy",
    "VisionLanguageModel",
    "vqa_loss",
    "answer",
]

#: The question kinds: the digit itself, its parity, a comparison with a number.
KINDS = ("数字", "奇偶", "比较")
#: The character that ends every answer.
END = "。"
RELATIONS = ("digit", "odd", "even", "gt", "lt")


class QuestionTemplate(NamedTuple):
    """A question template: ``kind`` (one of :data:`KINDS`), ``text`` (may contain
    ``{n}``, a number to compare with) and ``relation`` (``"digit"``, ``"odd"``,
    ``"even"``, ``"gt"`` or ``"lt"``) that fixes the answer."""

    kind: str
    text: str
    relation: str


#: Templates used for training.
TRAIN_QUESTIONS = (
    QuestionTemplate("数字", "这是几？", "digit"),
    QuestionTemplate("数字", "图中是什么数字？", "digit"),
    QuestionTemplate("数字", "写的是几？", "digit"),
    QuestionTemplate("数字", "这个数字是多少？", "digit"),
    QuestionTemplate("数字", "请问这是几？", "digit"),
    QuestionTemplate("数字", "图里写的数字是几？", "digit"),
    QuestionTemplate("奇偶", "是奇数吗？", "odd"),
    QuestionTemplate("奇偶", "这个数是奇数吗？", "odd"),
    QuestionTemplate("奇偶", "请问是奇数吗？", "odd"),
    QuestionTemplate("奇偶", "是偶数吗？", "even"),
    QuestionTemplate("奇偶", "这是偶数吗？", "even"),
    QuestionTemplate("奇偶", "图里的数字是偶数吗？", "even"),
    QuestionTemplate("比较", "比 {n} 大吗？", "gt"),
    QuestionTemplate("比较", "大于 {n} 吗？", "gt"),
    QuestionTemplate("比较", "请问比 {n} 大吗？", "gt"),
    QuestionTemplate("比较", "比 {n} 小吗？", "lt"),
    QuestionTemplate("比较", "小于 {n} 吗？", "lt"),
    QuestionTemplate("比较", "图里的数字小于 {n} 吗？", "lt"),
)

#: Templates held out from training: the same questions, phrased in new ways.
HELDOUT_QUESTIONS = (
    QuestionTemplate("数字", "图上写着几？", "digit"),
    QuestionTemplate("数字", "这是什么数？", "digit"),
    QuestionTemplate("奇偶", "图中的数是奇数吗？", "odd"),
    QuestionTemplate("奇偶", "它是偶数吗？", "even"),
    QuestionTemplate("比较", "它比 {n} 大吗？", "gt"),
    QuestionTemplate("比较", "这个数小于 {n} 吗？", "lt"),
)


#: Openers put in front of training questions (none of them makes a held-out question).
TRAIN_OPENERS = ("", "请问", "那么", "你看", "问：")


def digit_answer(label: int, relation: str, n: int = 0) -> str:
    """The answer to a question with ``relation`` about digit ``label``: ``"0"``–``"9"``
    for ``"digit"``, else ``"是"`` or ``"否"`` (``n`` is the number compared with)."""
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ValueError(f"label must be an int in 0..9, got {label!r}")
    if relation not in RELATIONS:
        raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")
    if relation == "digit":
        return str(label)
    truth = {
        "odd": label % 2 == 1,
        "even": label % 2 == 0,
        "gt": label > n,
        "lt": label < n,
    }[relation]
    return "是" if truth else "否"


class Questions(NamedTuple):
    """Questions about a batch of digits: ``text`` and ``answer`` strings, the ``kind``
    of each, and its ``meaning`` ``(relation, n)`` (what the question asks, whatever its
    wording)."""

    text: list[str]
    answer: list[str]
    kind: list[str]
    meaning: list[tuple[str, int]]


def _check_templates(templates: object) -> Sequence[QuestionTemplate]:
    if (
        isinstance(templates, (str, QuestionTemplate))
        or not isinstance(templates, Sequence)
        or len(templates) == 0
        or not all(isinstance(t, QuestionTemplate) for t in templates)
    ):
        raise TypeError("templates must be a non-empty sequence of QuestionTemplate")
    for t in templates:
        if t.kind not in KINDS or t.relation not in RELATIONS:
            raise ValueError(f"templates: bad kind or relation in {t!r}")
    return templates


def digit_questions(
    labels: torch.Tensor,
    templates: Sequence[QuestionTemplate],
    seed: int = 0,
    openers: Sequence[str] = ("",),
) -> Questions:
    """One question per label, its template drawn uniformly from ``templates``, for a
    comparison ``n`` uniformly from 0..9, and an opener (a few words put in front, such
    as ``"请问"``) uniformly from ``openers``; all from a generator seeded with ``seed``.
    Varied openers teach a model that the words before the question do not matter."""
    check_index_tensor("labels", labels, 10, ndim=1)
    templates = _check_templates(templates)
    if (
        isinstance(openers, str)
        or len(openers) == 0
        or not all(isinstance(o, str) for o in openers)
    ):
        raise TypeError("openers must be a non-empty sequence of strings")
    rng = random.Random(check_seed(seed))
    out = Questions([], [], [], [])
    for label in labels.tolist():
        t = templates[rng.randrange(len(templates))]
        n = rng.randrange(10) if "{n}" in t.text else 0
        opener = openers[rng.randrange(len(openers))] if len(openers) > 1 else openers[0]
        out.text.append(opener + t.text.format(n=n))
        out.answer.append(digit_answer(label, t.relation, n))
        out.kind.append(t.kind)
        out.meaning.append((t.relation, n))
    return out


def qa_tokenizer(templates: Sequence[QuestionTemplate] = TRAIN_QUESTIONS) -> CharTokenizer:
    """A :class:`~survey_models.text.CharTokenizer` (with specials) over every question
    the templates can write, the answers and the end mark; a character of another
    template reads ``<unk>``."""
    templates = _check_templates(templates)
    texts = [t.text.format(n=n) for t in templates for n in range(10)]
    return CharTokenizer(texts + [str(d) for d in range(10)] + ["是", "否", END], specials=True)


def qa_sequences(
    tokenizer: CharTokenizer, questions: Sequence[str], answers: Sequence[str], length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for eq. (2): the text ``question + answer + "。"`` padded to
    ``length + 1`` characters; ``x = s[:-1]``, ``y = s[1:]`` with every target that is
    not an answer character or the end mark set to -100. Returns ``(x, y)``, each
    ``(batch, length)``.
    """
    if not isinstance(tokenizer, CharTokenizer) or not tokenizer.specials:
        raise TypeError("tokenizer must be a CharTokenizer built with specials=True")
    length = check_positive_int("length", length)
    if isinstance(questions, str) or isinstance(answers, str):
        raise TypeError("questions and answers must be sequences of strings, not one string")
    if len(questions) != len(answers) or len(questions) == 0:
        raise ValueError(
            f"questions and answers must be non-empty and of equal length, got "
            f"{len(questions)} and {len(answers)}"
        )
    if any(len(a) == 0 for a in answers):
        raise ValueError("answers must not be empty strings")
    seq = tokenizer.encode([q + a + END for q, a in zip(questions, answers)], length + 1)
    x, y = seq[:, :-1], seq[:, 1:].clone()
    scored = torch.zeros_like(y, dtype=torch.bool)
    for i, (q, a) in enumerate(zip(questions, answers)):
        # s[len(q) .. len(q)+len(a)] are the answer and the end mark; in y they sit one
        # place earlier.
        scored[i, len(q) - 1 : len(q) + len(a)] = True
    y[~scored] = IGNORE_INDEX
    return x, y


def question_only_accuracy(train: Questions, test: Questions) -> dict[str, float]:
    """The best accuracy without the image: answer each test question with the most
    frequent training answer among questions of the same meaning ``(relation, n)``
    (ties: the smaller answer string). Returns accuracy per kind and ``"总体"`` (all).

    It is the chance level of a text-only model that even understood every wording.
    """
    if not isinstance(train, Questions) or not isinstance(test, Questions):
        raise TypeError("train and test must be Questions")
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for m, a in zip(train.meaning, train.answer):
        counts.setdefault(m, {}).setdefault(a, 0)
        counts[m][a] += 1
    right: dict[str, list[bool]] = {k: [] for k in KINDS}
    for m, a, k in zip(test.meaning, test.answer, test.kind):
        c = counts.get(m, {})
        guess = min(c, key=lambda s: (-c[s], s)) if c else ""
        right[k].append(guess == a)
    out = {k: sum(v) / len(v) for k, v in right.items() if v}
    out["总体"] = sum(sum(v) for v in right.values()) / len(test.answer)
    return out


class VisionLanguageModel(nn.Module):
    """An image-conditioned GPT: image → ``n_prefix`` prefix tokens (eq. 1) → GPT over
    ``[prefix; text]``.

    Args:
        vocab_size: size of the character vocabulary (a ``CharTokenizer`` with specials).
        text_length: the longest text input (question + answer characters).
        n_prefix: number of image tokens ``P``.
        n_pixels: input size of the image encoder.
        feature_dim, encoder_hidden: widths of the image encoder.
        n_layer, n_head, d_model: sizes of the GPT.
        use_image: ``False`` for the text-only variant, whose prefix is a learned
            constant ``(n_prefix, d_model)``: its output does not depend on the image.
        positional: the GPT's position code (``"learned"``, ``"sinusoidal"`` or ``"none"``).

    Shapes: ``images (B, n_pixels)``, ``tokens (B, T)`` with ``T <= text_length`` →
    logits ``(B, T, vocab_size)``; ``logits[:, t]`` scores the character at ``t + 1``.
    """

    def __init__(
        self,
        vocab_size: int,
        text_length: int,
        n_prefix: int = 4,
        n_pixels: int = 64,
        feature_dim: int = 64,
        encoder_hidden: int = 128,
        n_layer: int = 2,
        n_head: int = 4,
        d_model: int = 64,
        use_image: bool = True,
        positional: str = "learned",
    ) -> None:
        super().__init__()
        self.text_length = check_positive_int("text_length", text_length)
        self.n_prefix = check_positive_int("n_prefix", n_prefix)
        self.n_pixels = check_positive_int("n_pixels", n_pixels)
        check_positive_int("feature_dim", feature_dim)
        if not isinstance(use_image, bool):
            raise TypeError(f"use_image must be True or False, got {type(use_image).__name__}")
        self.use_image = use_image
        self.gpt = GPT(
            vocab_size,
            n_prefix + text_length,
            n_layer=n_layer,
            n_head=n_head,
            d_model=d_model,
            positional=positional,
        )
        self.d_model = d_model
        if use_image:
            self.encoder: ImageEncoder | None = ImageEncoder(n_pixels, encoder_hidden, feature_dim)
            self.projection: nn.Linear | None = nn.Linear(feature_dim, n_prefix * d_model)
            self.register_parameter("constant_prefix", None)
        else:
            self.encoder, self.projection = None, None
            self.constant_prefix = nn.Parameter(0.02 * torch.randn(n_prefix, d_model))

    @property
    def vocab_size(self) -> int:
        return self.gpt.vocab_size

    def extra_repr(self) -> str:
        return f"n_prefix={self.n_prefix}, use_image={self.use_image}"

    def prefix(self, images: torch.Tensor) -> torch.Tensor:
        """Image tokens of eq. (1): ``images (B, n_pixels)`` → ``(B, n_prefix, d_model)``
        (the learned constant, repeated, for the text-only variant)."""
        check_tensor("images", images, ndim=2, last_dim=self.n_pixels, floating=True)
        b = images.shape[0]
        if self.constant_prefix is not None:
            return self.constant_prefix.expand(b, -1, -1)
        assert self.encoder is not None and self.projection is not None
        h = self.projection(self.encoder(images))  # (1)
        return h.reshape(b, self.n_prefix, self.d_model)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        prefix = self.prefix(images)
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
            raise ValueError("tokens must be an int64 tensor of shape (batch, length)")
        if tokens.shape[0] != images.shape[0]:
            raise ValueError(
                f"tokens must have the batch size of images ({images.shape[0]}), got "
                f"shape {tuple(tokens.shape)}"
            )
        if tokens.shape[1] > self.text_length:
            raise ValueError(
                f"tokens length must be <= text_length={self.text_length}, got {tokens.shape[1]}"
            )
        return self.gpt(tokens, prefix=prefix)


def vqa_loss(
    model: VisionLanguageModel, images: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """Eq. (2): mean cross-entropy (nats) over the targets of ``y`` that are not -100,
    i.e. the answer tokens. ``loss_fn(model, images, x, y)`` for
    :func:`survey_models.train.fit`."""
    if not isinstance(y, torch.Tensor) or not isinstance(x, torch.Tensor) or y.shape != x.shape:
        raise ValueError("x and y must be tensors of the same shape (batch, length)")
    if y.dtype != torch.long:
        raise TypeError(f"y must be an int64 tensor of target ids, got {y.dtype}")
    if not bool((y != IGNORE_INDEX).any()):
        raise ValueError("y: every target is -100; there is no answer token to score")
    logits = model(images, x)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE_INDEX
    )  # (2)


@torch.no_grad()
def answer(
    model: VisionLanguageModel,
    images: torch.Tensor,
    questions: Sequence[str],
    tokenizer: CharTokenizer,
    max_new_tokens: int = 3,
) -> list[str]:
    """Greedy answers: after ``[image tokens; question]`` take the most likely character,
    append it, repeat until the end mark ``"。"`` or ``max_new_tokens`` characters.
    Returns one string per question (without the end mark). Deterministic."""
    if not isinstance(model, VisionLanguageModel):
        raise TypeError(f"model must be a VisionLanguageModel, got {type(model).__name__}")
    if not isinstance(tokenizer, CharTokenizer) or not tokenizer.specials:
        raise TypeError("tokenizer must be a CharTokenizer built with specials=True")
    max_new_tokens = check_positive_int("max_new_tokens", max_new_tokens)
    check_tensor("images", images, ndim=2, last_dim=model.n_pixels, floating=True)
    if isinstance(questions, str) or len(questions) != images.shape[0]:
        raise ValueError(
            f"questions must be a sequence of {images.shape[0]} strings (one per image)"
        )
    if END not in tokenizer.stoi:
        raise ValueError(f"tokenizer has no end mark {END!r}; build it from the answers too")
    end_id = tokenizer.stoi[END]
    was_training = model.training
    model.eval()
    prefix = model.prefix(images)
    outputs = [""] * len(questions)
    by_length: dict[int, list[int]] = {}
    for i, q in enumerate(questions):  # questions of one length decode as one batch
        if not isinstance(q, str) or not q:
            raise TypeError(f"questions must be non-empty strings, got {q!r}")
        if len(q) + max_new_tokens - 1 > model.text_length:
            raise ValueError(
                f"questions: {q!r} plus {max_new_tokens} answer characters is longer than "
                f"text_length={model.text_length}"
            )
        by_length.setdefault(len(q), []).append(i)
    for rows in by_length.values():
        seq = torch.stack([tokenizer.encode(questions[i]) for i in rows])
        done = torch.zeros(len(rows), dtype=torch.bool)
        for _ in range(max_new_tokens):
            nxt = model.gpt(seq, prefix=prefix[rows])[:, -1].argmax(-1)
            done |= nxt == end_id
            for j, i in enumerate(rows):
                if not done[j]:
                    outputs[i] += tokenizer.itos[int(nxt[j])]
            if bool(done.all()):
                break
            seq = torch.cat([seq, nxt.unsqueeze(1)], dim=1)
    model.train(was_training)
    return outputs
