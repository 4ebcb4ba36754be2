"""The zoo on a GPU: a model moved to "cuda" computes what it computes on the CPU, and trains (gradients)."""
import numpy as np
import pytest

import minidl
from minidl.models import create


@pytest.mark.gpu
@pytest.mark.parametrize("name,options", [("resnet20", {}), ("highway20", {}), ("densenet40", {}),
                                          ("rk4_resnet26", {"factors": "learn"}), ("preact_resnet20", {})])
def test_model_on_gpu_matches_cpu(name, options):
    minidl.manual_seed(0)
    model = create(name, **options).eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    on_cpu = model(minidl.tensor(x)).numpy()
    model.to("cuda")
    assert np.allclose(model(minidl.tensor(x).to("cuda")).numpy(), on_cpu, rtol=1e-3, atol=1e-3)
    model.train()(minidl.tensor(x).to("cuda")).sum().backward()
    assert all(p.grad is not None and p.device == "cuda" for p in model.parameters())
