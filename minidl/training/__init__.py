"""Training: `train()`, `evaluate()`, the per-epoch History, checkpoints and resume.

(The package is named `training` so that `minidl.train` can be the function.)
"""
from .history import History
from .divergence import TrainingDiverged
from .loop import Evaluation, evaluate, train

__all__ = ["train", "evaluate", "History", "Evaluation", "TrainingDiverged"]
