"""PVE REST API emulation for the embedded lab (stdlib only).

`python3 -m lab.api serve --pve-dir DIR --listen ADDR:PORT --cert C --key K --node NAME` serves
/api2/json over HTTPS with all state in DIR (the lab's shared /etc/pve) in PVE's own file formats;
`python3 -m lab.api token --pve-dir DIR --user root@pam --name pulumi` creates a bootstrap token.
The package imports none of its modules, which import it (`from . import ...`); the shims import the ones they use.
"""
