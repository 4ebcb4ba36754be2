"""The model zoo: plain, residual, pre-activation, bottleneck, highway, dense, Runge-Kutta- and LM-stacked CIFAR
networks, built layer by layer from `minidl.nn`. `create(name, num_classes=10, **kwargs)` builds a registered
network, `list_models()` names them all; the generic builders live in the family files, e.g.
`minidl.models.densenet.densenet(depth, growth_rate, bottleneck, compression)` or
`minidl.models.rk.rk_resnet(depth, tableau, factors, nested)`.
"""
# Importing a family file registers its networks; this order is list_models()'s order.
from . import resnet  # noqa: F401  isort: skip
from . import preact, bottleneck, highway, densenet, rk, linear_multistep  # noqa: F401  isort: skip
from .butcher import Tableau, get_tableau, list_tableaux
from .common import CifarNet, ZeroPadShortcut, init_he
from .densenet import DenseLayer, Transition
from .highway import HighwayUnit
from .linear_multistep import LMStage
from .preact import PreActUnit
from .registry import create, list_models
from .resnet import BasicBlock, BasicBranch
from .rk import RKBlock, RKIncrement, TableauFactors

__all__ = ["create", "list_models", "Tableau", "get_tableau", "list_tableaux", "CifarNet", "ZeroPadShortcut",
           "init_he", "BasicBranch", "BasicBlock", "PreActUnit", "HighwayUnit", "DenseLayer", "Transition",
           "RKBlock", "RKIncrement", "TableauFactors", "LMStage"]
