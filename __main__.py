"""proxmox-ha: stack config → validated models → components. See program.py.

This file is what plain `pulumi preview|up` runs (through the Python language host); `python -m deploy` calls
program.run() itself. When the engine stops early (a policy refused the stack, a step failed), the language host
cancels the program with SIGINT, and the engine has already said why: the program then leaves quietly instead of
printing a KeyboardInterrupt or "Resource monitor has terminated" traceback.
"""
import os
import signal
import sys

import program


def _cancelled(signum, frame):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, RuntimeError):  # the signal may land inside a write of that stream
            pass
    os._exit(1)


def _quiet_when_the_engine_is_gone(kind, error, trace):
    if "Resource monitor has terminated" in str(error) or type(error).__name__ in ("_InactiveRpcError", "AioRpcError"):
        _cancelled(None, None)
    sys.__excepthook__(kind, error, trace)


signal.signal(signal.SIGINT, _cancelled)
sys.excepthook = _quiet_when_the_engine_is_gone
program.run()
