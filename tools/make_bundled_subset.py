"""Build minidl/data/bundled/cifar10_subset.npz from a CIFAR-10 folder in the official python layout.

Usage: python tools/make_bundled_subset.py [SOURCE_FOLDER] (default ../shared/data/cifar-10-batches-py,
beside the project root). The files are read with minidl's validating reader; the per-file md5s go
into the bundle's `source` note so anyone can check where it came from.
"""
import argparse
import datetime
from pathlib import Path

import numpy as np

from minidl.data import bundled
from minidl.data.cifar10 import TEST_FILES, TRAIN_FILES, read_split
from minidl.data.download import md5_file

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=ROOT.parent / "shared" / "data" / "cifar-10-batches-py",
                        type=Path, help="folder holding data_batch_1..5 and test_batch")
    parser.add_argument("--out", type=Path, default=bundled.PATH)
    args = parser.parse_args()

    x_train, y_train = read_split(args.source, train=True)
    x_test, y_test = read_split(args.source, train=False)
    md5s = ", ".join(f"{name} {md5_file(args.source / name)}" for name in TRAIN_FILES + TEST_FILES)
    note = (f"CIFAR-10 (Krizhevsky 2009) subset: {len(x_train)} training images (data_batch_1..5 in order) "
            f"and {len(x_test)} test images (test_batch), copied from the official-layout folder "
            f"'{args.source.name}' of the project's shared data (the first 1,017 images of each official "
            f"batch) by tools/make_bundled_subset.py on {datetime.date.today()}; source files md5: {md5s}")
    bundled.save(args.out, x_train, y_train, x_test, y_test, note)

    check_train, check_test = bundled.load(True, args.out), bundled.load(False, args.out)
    assert np.array_equal(check_train[0], x_train) and np.array_equal(check_train[1], y_train)
    assert np.array_equal(check_test[0], x_test) and np.array_equal(check_test[1], y_test)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): {len(x_train)} train + "
          f"{len(x_test)} test images, verified by reading it back")


if __name__ == "__main__":
    main()
