"""Every test runs where the released provider plugins may be missing (CI here): the lab's stand-ins may serve the
lab stack, as `make up` allows them. Tests that need another stack served, or none, set PROXMOX_HA_STAND_INS."""
import os

os.environ.setdefault("PROXMOX_HA_STAND_INS", "lab")
