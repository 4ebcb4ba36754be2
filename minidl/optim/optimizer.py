"""`Optimizer`: the base class that holds parameter groups and per-parameter state, as torch.optim.Optimizer.

Subclasses write `step()`. Parameters come as an iterable of Tensors or as a list of dicts
("parameter groups"), each dict with its own "params" and optionally its own hyperparameters (for
example a smaller lr for some layers); missing hyperparameters are taken from the defaults.
"""
import copy
import math
import numbers

from .. import backend
from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}  # Parameter -> dict of its state (keyed by the object itself)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{self.name}: params must be an iterable of Tensors or of dicts, got a single Tensor; "
                            "wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError(f"{self.name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def name(self):
        return type(self).__name__

    def add_param_group(self, param_group):
        """Add a dict with "params" (and optional hyperparameters) as a new group."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self.name}: a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{self.name}: parameters must be an ordered sequence, not a set (their order "
                            "must be the same every run for state_dict to work)")
        group["params"] = params = list(params or [])
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self.name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self.name}: can't optimize a non-leaf Tensor (shape {p.shape}); "
                                 "optimize the leaf it was computed from, or .detach() it")
        for key, value in self.defaults.items():
            if key not in group:
                if value is _required:
                    raise ValueError(f"{self.name}: parameter group didn't specify a value of required "
                                     f"hyperparameter {key!r}")
                group[key] = value
        self._refuse_non_finite(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{self.name}: some parameters appear in more than one parameter group (or twice in one)")
        self.param_groups.append(group)

    def _refuse_non_finite(self, group):
        """A NaN or infinite lr, momentum, weight decay (or any numeric hyperparameter) would only show up
        later as a NaN loss; refuse it here, where the value was given."""
        for key, value in group.items():
            values = value if isinstance(value, (tuple, list)) and key != "params" else (value,)
            for v in values:
                if isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isfinite(v):
                    raise ValueError(f"{self.name}: {key} must be a finite number, got {value}")

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of every optimized parameter to None (or to zeros with set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def step(self, closure=None):
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure):
        """Run the closure (which recomputes the loss and calls backward) with gradients enabled."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ----- state dict -----
    def state_dict(self):
        """{"state": {index: {name: array or number}}, "param_groups": [{hyperparameters, "params": [index]}]}.

        Parameters are numbered across the groups in order, as in PyTorch; arrays are shared, not copied.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by state_dict() (arrays are copied to each parameter's device,
        floating ones cast to its dtype)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self.name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}")
        sizes = [(len(s["params"]), len(g["params"])) for s, g in zip(saved_groups, self.param_groups)]
        if any(a != b for a, b in sizes):
            raise ValueError(f"{self.name}.load_state_dict: the parameter groups' sizes differ: saved "
                             f"{[a for a, _ in sizes]}, this optimizer {[b for _, b in sizes]}")
        by_index = {}
        for saved, group in zip(saved_groups, self.param_groups):
            by_index.update(zip(saved["params"], group["params"]))
        self.state = {}
        for key, values in state_dict["state"].items():
            if int(key) not in by_index:
                raise ValueError(f"{self.name}.load_state_dict: state for parameter index {key} which no group has")
            p = by_index[int(key)]
            self.state[p] = {name: _to_param(value, p) for name, value in values.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    group[key] = copy.deepcopy(value)

    def __repr__(self):
        lines = [f"{self.name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])


def _to_param(value, param):
    """A private copy of a saved state value on the parameter's device (floating arrays in its dtype)."""
    value = value.data if isinstance(value, Tensor) else value
    if not hasattr(value, "shape"):  # numbers such as Adam's step count
        return copy.deepcopy(value)
    array = backend.to_device(value, param.device)
    if array.dtype.kind == "f":
        array = array.astype(param.dtype)  # astype copies, so later updates never touch the loaded dict
    else:
        array = array.copy()
    return array


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


_required = _RequiredParameter()
