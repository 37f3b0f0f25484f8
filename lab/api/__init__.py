"""PVE REST API emulation for the embedded lab (stdlib only).

`python3 -m lab.api serve --pve-dir DIR --listen ADDR:PORT --cert C --key K --node NAME` serves
/api2/json over HTTPS with all state in DIR (the lab's shared /etc/pve) in PVE's own file formats;
`python3 -m lab.api token --pve-dir DIR --user root@pam --name pulumi` creates a bootstrap token.
"""
from .dispatch import PVEAPI  # noqa: F401
from .server import APIServer, make_cert, serve  # noqa: F401
from .auth import bootstrap_token  # noqa: F401
