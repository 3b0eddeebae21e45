"""Anomaly detection by reconstruction error (an application in the review).

An autoencoder trained only on normal data reconstructs normal inputs well and unfamiliar
ones badly, so the reconstruction error is an anomaly score. The score's quality is the
area under the ROC curve (AUC): the probability that a random anomaly scores higher than a
random normal example (ties count one half), 0.5 for a useless score and 1 for a perfect one.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_tensor
from .core import reconstruction_errors


@torch.no_grad()
def anomaly_scores(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Reconstruction error ``‖y - x‖²`` of each example, shape ``(batch,)``."""
    was_training = model.training
    model.eval()
    scores = reconstruction_errors(model, x)
    model.train(was_training)
    return scores


def roc_auc(normal_scores: torch.Tensor, anomaly_scores: torch.Tensor) -> float:
    """AUC as the Mann-Whitney statistic: ``P(s_anomaly > s_normal) + ½ P(tie)``.

    Both arguments are 1-D score tensors, each with at least one entry.
    """
    for name, s in (("normal_scores", normal_scores), ("anomaly_scores", anomaly_scores)):
        check_tensor(name, s, ndim=1)
        if s.numel() == 0:
            raise ValueError(f"{name} must not be empty")
    a = anomaly_scores.double()[:, None]
    n = normal_scores.double()[None, :]
    return float((a > n).double().mean() + 0.5 * (a == n).double().mean())


__all__ = ["anomaly_scores", "roc_auc"]
