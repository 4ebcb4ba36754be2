"""`History`: one record per epoch of a training run, with JSON export and an optional plot."""
import json
import os

from .._atomic import atomic_open

FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")


def write_atomically(path, text):
    """Write text to `path` through a temporary file (never a half-written file), making its folder if needed."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_open(path, "w") as f:
        f.write(text)


class History:
    """Per-epoch records {epoch, train_loss, train_acc, test_loss, test_acc, lr, seconds}."""

    def __init__(self, records=None):
        self.records = [dict(r) for r in (records or [])]
        self.interrupted = False  # set by train() when Ctrl-C stopped the run before its last epoch

    def append(self, **record):
        missing = set(FIELDS) - set(record)
        if missing:
            raise ValueError(f"History.append: missing fields {sorted(missing)}")
        self.records.append({k: record[k] for k in FIELDS})

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def __iter__(self):
        return iter(self.records)

    def column(self, name):
        """All values of one field, e.g. history.column("test_acc")."""
        return [r[name] for r in self.records]

    @property
    def final(self):
        return self.records[-1] if self.records else None

    def to_dict(self, **extra):
        return {**extra, "epochs": self.records}

    def to_json(self, path, **extra):
        """Write {"epochs": [...], **extra} to path atomically."""
        write_atomically(path, json.dumps(self.to_dict(**extra), indent=2))

    @classmethod
    def from_json(cls, path):
        with open(path) as f:
            return cls(json.load(f)["epochs"])

    def plot(self, path, title=None):
        """Loss and accuracy curves in one PNG (needs matplotlib, the `plot` extra)."""
        try:
            from matplotlib.figure import Figure  # no pyplot: a notebook's or script's backend stays as it was
        except ImportError as error:
            raise ImportError("History.plot needs matplotlib: pip install 'minidl[plot]'") from error
        epochs = self.column("epoch")
        fig = Figure(figsize=(10, 4))
        ax_loss, ax_acc = fig.subplots(1, 2)
        ax_loss.plot(epochs, self.column("train_loss"), label="train")
        ax_loss.plot(epochs, self.column("test_loss"), label="test")
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
        ax_acc.plot(epochs, [100 * a for a in self.column("train_acc")], label="train")
        ax_acc.plot(epochs, [100 * a for a in self.column("test_acc")], label="test")
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
        for ax in (ax_loss, ax_acc):
            ax.legend()
            ax.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with atomic_open(path, "wb") as f:
            fig.savefig(f, dpi=120, format="png")

    def __repr__(self):
        if not self.records:
            return "History(0 epochs)"
        last = self.records[-1]
        return (f"History({len(self)} epochs, final train_acc {last['train_acc']:.4f}, "
                f"test_acc {last['test_acc']:.4f})")
