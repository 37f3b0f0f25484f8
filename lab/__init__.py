"""Embedded 3-node Proxmox VE lab (see lab/README.md). Standard library only."""
