"""Entry point for `python -m generator`."""

import os
import sys

from generator.handoff import hand_off

# A build goes to the project's build server when one is running (handoff.py);
# then this process imports nothing more of the generator.
code = hand_off(sys.argv[1:])
if code is None:
    from generator.cli import main

    code = main(exiting=True)
# The process ends here, so it skips the interpreter's teardown: after a build
# that would free millions of objects one by one, for the operating system to
# take the memory back anyway. Every file a command writes is closed before
# main returns; only the standard streams still hold output.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
