"""PVE command shims run inside the lab hosts (see lab/README.md)."""
