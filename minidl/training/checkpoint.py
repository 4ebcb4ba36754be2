"""Training checkpoints: everything needed to resume a run exactly, in one atomically written `.npz`.

A checkpoint records which model made it (its zoo name and constructor arguments, or its class for a model
built by hand) and the settings of the run, so that resume refuses another model or other settings instead
of quietly training, or reporting, the wrong network. Checkpoints written before the model was recorded
still load, with a warning.
"""
import json
import os
import warnings

from .. import backend
from ..serialization import load, save

_KEYS = ("model", "optimizer", "scheduler", "epoch", "rng", "history", "config")


def model_record(model):
    """{"name", "args"}: the zoo name and constructor arguments (models.create sets them), else the class name."""
    spec = getattr(model, "zoo_spec", None)
    return dict(spec) if spec else {"name": type(model).__name__, "args": None}


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
        "made_by": json.dumps(model_record(model)),
    }, path)


def load_checkpoint(path, model, optimizer, scheduler, config, device="cpu"):
    """Restore a checkpoint (its arrays moved to `device`) into the given objects; returns (last finished epoch,
    history records). Another model or other settings than the checkpoint's are refused before anything is loaded."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"resume: no checkpoint at {path}")
    state = load(path, map_location=device)
    if not isinstance(state, dict) or any(key not in state for key in _KEYS):
        raise ValueError(f"resume: {path} is a minidl.save file but not a training checkpoint (it lacks "
                         f"{', '.join(k for k in _KEYS if not isinstance(state, dict) or k not in state)})")
    _check_model(path, state.get("made_by"), model_record(model))
    _check_settings(path, json.loads(state["config"]), config)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as error:
        details = str(error).replace("\n  ", "; ")
        raise ValueError(f"resume: {path} does not fit this model ({details}); start a new run with another "
                         "checkpoint path") from None
    scheduler.load_state_dict(state["scheduler"])
    backend.set_rng_state(json.loads(state["rng"]))
    return int(state["epoch"]), json.loads(state["history"])


def _describe(record):
    args = record.get("args")
    return record["name"] + (f"({', '.join(f'{k}={v!r}' for k, v in args.items())})" if args else "")


def _check_model(path, saved, current):
    if saved is None:
        warnings.warn(f"resume: {path} does not record which model made it (written before minidl recorded it); "
                      f"resuming into {current['name']} unchecked", stacklevel=4)
        return
    saved = json.loads(saved)
    if saved["name"] != current["name"]:
        raise ValueError(f"resume: {path} was made by {saved['name']}, not {current['name']}; resume with "
                         f"{saved['name']}, or give {current['name']} another checkpoint path to start a new run")
    if saved.get("args") != current.get("args"):
        raise ValueError(f"resume: {path} was made by {_describe(saved)}, not {_describe(current)}; resume with "
                         "the same model, or give another checkpoint path to start a new run")


def _check_settings(path, saved, config):
    """Compare the settings both runs record (a checkpoint from an older minidl lacks the newer ones)."""
    differing = {k: (saved[k], v) for k, v in config.items() if k in saved and saved[k] != v}
    if differing:
        listed = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in sorted(differing.items()))
        raise ValueError(f"resume: the checkpoint {path} was made with other settings ({listed}); "
                         "resume with the same settings or start a new run")
