"""`python -m minidl ...` runs the command line (see minidl/cli.py)."""
import sys

from .cli import main

sys.exit(main())
