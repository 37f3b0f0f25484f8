"""The pack is tested as it runs: from its own folder, its modules importing one another by top-level name."""
import sys
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))
