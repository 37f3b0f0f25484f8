"""The proxmox-ha policy pack: `pulumi preview --policy-pack policies`, or through the `run` launcher.

Self-contained: its modules import one another by their top-level names, so the folder runs on its own
(as `pulumi policy publish` uploads it) and needs only its declared dependencies (requirements.txt).
"""
from pulumi_policy import PolicyPack

from pack import POLICIES, keep_secret_markers

keep_secret_markers()
PolicyPack(name="proxmox-ha", policies=POLICIES)
