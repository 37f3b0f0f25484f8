"""The proxmox-ha CrossGuard policy pack (rules.py: pure rules; pack.py: wiring; __main__.py: the pack)."""
