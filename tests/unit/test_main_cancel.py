"""Plain `pulumi up` runs __main__.py; when the engine cancels it (SIGINT) or goes away, it leaves without a traceback."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _main_with(tmp_path, body: str) -> subprocess.Popen:
    """__main__.py as the language host runs it, over a stand-in `program` module with `run()` doing `body`."""
    (tmp_path / "program.py").write_text(f"def run():\n{body}\n")
    # A copy beside the stand-in: a script's own folder comes first on sys.path.
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    return subprocess.Popen([sys.executable, str(tmp_path / "__main__.py")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})


def test_sigint_from_the_engine_ends_the_program_quietly(tmp_path):
    main = _main_with(tmp_path, "    import time\n    print('registering', flush=True)\n    time.sleep(60)")
    assert main.stdout.readline().strip() == "registering"
    main.send_signal(signal.SIGINT)
    out, err = main.communicate(timeout=30)
    assert main.returncode == 1 and "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_the_engine_gone_ends_the_program_quietly(tmp_path):
    main = _main_with(tmp_path, "    import pulumi\n    raise pulumi.RunError('Resource monitor has terminated, shutting down')")
    _, err = main.communicate(timeout=60)
    assert main.returncode == 1 and err == "", err


def test_a_real_error_keeps_its_traceback(tmp_path):
    main = _main_with(tmp_path, "    raise ValueError('a bug in the program')")
    _, err = main.communicate(timeout=60)
    assert main.returncode == 1 and "Traceback" in err and "ValueError: a bug in the program" in err
