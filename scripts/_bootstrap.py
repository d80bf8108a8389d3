"""Make the checked-out ``src/`` importable from a Snakemake script (same code as the DAG)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
