"""proxmox-ha: stack config → validated models → components. See program.py."""
import program

program.run()
