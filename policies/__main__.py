"""The proxmox-ha policy pack: `pulumi preview --policy-pack policies`."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack  # noqa: E402

from policies.pack import POLICIES, keep_secret_markers  # noqa: E402

keep_secret_markers()
PolicyPack(name="proxmox-ha", policies=POLICIES)
