"""What the self-tests of the test stand-ins share: the assertion helper, and starting a proxy
with a control file of faults."""

import json
import os
import subprocess
import sys
import time


class CheckFailed(Exception):
    pass


def check(condition, what, detail=""):
    """Prints `ok - what`, or raises with the detail."""
    if not condition:
        raise CheckFailed(f"{what}: {detail}" if detail else what)
    print(f"ok - {what}", flush=True)


def start_proxy(script, directory, *arguments):
    """Starts a proxy script that writes its port to --port-file once it serves and reads faults
    from --control-file; returns (process, endpoint, control file path, log path)."""
    port_file, control, log = (os.path.join(directory, n) for n in ("proxy.port", "faults.json", "proxy.log"))
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, script, *arguments, "--port-file", port_file, "--control-file", control],
                                   stdout=stderr, stderr=stderr)
    deadline = time.time() + 30
    while not os.path.exists(port_file):
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise CheckFailed(f"the proxy did not start:\n{open(log).read()[-2000:]}")
        time.sleep(0.05)
    with open(port_file) as f:
        return process, f"http://127.0.0.1:{f.read().strip()}", control, log


def set_faults(control, faults):
    """Replaces the control file atomically (a new inode, so the proxy sees a new file)."""
    with open(control + ".tmp", "w") as f:
        json.dump({"faults": faults}, f)
    os.replace(control + ".tmp", control)
