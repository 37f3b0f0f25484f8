"""PVE's refusals as the lab's commands and API raise them: a message and the exit code PVE's CLI uses (255)."""
from __future__ import annotations


class PVEError(Exception):
    def __init__(self, msg: str, code: int = 255):
        super().__init__(msg)
        self.msg = msg
        self.code = code
