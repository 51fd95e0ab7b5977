"""Makes the shared helpers of the STARC tests (starc_cases.py) importable under --import-mode=importlib."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
