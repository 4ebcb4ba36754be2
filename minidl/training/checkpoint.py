"""Training checkpoints: everything needed to resume a run exactly, in one atomically written `.npz`."""
import json
import os

from .. import backend
from ..serialization import load, save


def save_checkpoint(path, model, optimizer, scheduler, epoch, history, config):
    """Model, optimizer, scheduler, the finished epoch, RNG state and history (minidl.save writes atomically)."""
    save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": int(epoch),
        "rng": json.dumps(backend.get_rng_state()),
        "history": json.dumps(history.records),
        "config": json.dumps(config, sort_keys=True),
    }, path)


def load_checkpoint(path, model, optimizer, scheduler, config):
    """Restore a checkpoint into the given objects; returns (last finished epoch, history records)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"resume: no checkpoint at {path}")
    state = load(path)
    saved = json.loads(state["config"])
    differing = {k: (saved.get(k), v) for k, v in config.items() if saved.get(k) != v}
    if differing:
        listed = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in sorted(differing.items()))
        raise ValueError(f"resume: the checkpoint {path} was made with other settings ({listed}); "
                         "resume with the same settings or start a new run")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    backend.set_rng_state(json.loads(state["rng"]))
    return int(state["epoch"]), json.loads(state["history"])
