"""Data: CIFAR-10 (official files, download with md5 check, cache, bundled subset), datasets, DataLoader, augmentation.

    >>> train = minidl.data.CIFAR10(train=True)          # bundled subset unless data is found elsewhere
    >>> loader = minidl.data.DataLoader(train, batch_size=128, shuffle=True, augment=True)
    >>> for x, y in loader: ...                           # x float32 (128, 3, 32, 32) Tensor, y int64 Tensor
"""
from .augment import random_crop_flip
from .cifar10 import CLASSES
from .dataset import CIFAR10, Dataset, TensorDataset, cifar10
from .errors import DataError
from .loader import DataLoader
from .locate import ENV_VAR, cache_dir, locate
from .subset import balanced_subset
from .transforms import MEAN, STD, normalize

__all__ = ["CIFAR10", "cifar10", "Dataset", "TensorDataset", "DataLoader", "DataError", "normalize", "MEAN",
           "STD", "CLASSES", "random_crop_flip", "balanced_subset", "cache_dir", "locate", "ENV_VAR"]
