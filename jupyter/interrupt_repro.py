"""Kernel > Interrupt on Deno's Jupyter kernel, reduced to jupyter_client.

Starts the project's Deno kernel (interrupt_mode "message"), runs a cell that
sleeps 8 s, sends an interrupt_request on the control channel after 2 s, then
reports whether the interrupt was answered, whether the cell ended, and
whether the kernel still runs a next cell. Run it from the project folder:

    JUPYTER_PATH=$PWD/jupyter .venv/bin/python jupyter/interrupt_repro.py
    JUPYTER_PATH=$PWD/jupyter .venv/bin/python jupyter/interrupt_repro.py --no-interrupt

The second run is the control: the same cell, not interrupted.
"""

import queue
import sys
import time

from jupyter_client.manager import start_new_kernel

WAIT_S = 30


def main() -> None:
    manager, client = start_new_kernel(kernel_name="deno")
    try:
        started = time.monotonic()
        client.execute("await new Promise((r) => setTimeout(r, 8000)); 'slept'")
        if "--no-interrupt" not in sys.argv:
            time.sleep(2)
            interrupt = client.session.msg("interrupt_request", {})
            client.control_channel.send(interrupt)
            try:
                reply = client.get_control_msg(timeout=5)
                print(f"interrupt_reply after {time.monotonic() - started:.1f} s: "
                      f"{reply['content'].get('status')}")
            except queue.Empty:
                print("interrupt_request: no interrupt_reply within 5 s")
        print(f"cell ended: {wait_idle(client, started)}")
        started = time.monotonic()
        client.execute("1 + 1")
        print(f"next cell (1 + 1) ended: {wait_idle(client, started)}")
    finally:
        manager.shutdown_kernel(now=True)


def wait_idle(client, started: float) -> str:
    """Waits for the kernel's status to go back to idle, at most WAIT_S."""
    deadline = started + WAIT_S
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=deadline - time.monotonic())
        except queue.Empty:
            break
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return f"yes, after {time.monotonic() - started:.1f} s"
    return f"no, still busy after {WAIT_S} s"


if __name__ == "__main__":
    main()
