"""Autoencoders (survey chapter 2): one family built from shared encoder/decoder blocks.

* :class:`Autoencoder` — the traditional fully connected autoencoder of equations (1)-(2);
  its hidden width alone decides whether it is a compressed (压缩结构), sparse/over-complete
  (稀疏结构) or equal-dimension (等维结构) autoencoder.
"""

from .core import Autoencoder, reconstruction_loss, structure_of

__all__ = ["Autoencoder", "reconstruction_loss", "structure_of"]
