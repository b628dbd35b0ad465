"""Shared by the protocol and SDK tests: the test oracle module (``reference_model``) is importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
