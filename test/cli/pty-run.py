"""Runs a command in a pseudo-terminal of a given width and copies everything it writes to stdout.

usage: python3 pty-run.py COLUMNS COMMAND [ARGS...]

The child sees a real terminal (isatty true, TIOCGWINSZ reports COLUMNS x 24), so it draws what it
would draw for a person; the raw bytes, carriage returns and escape sequences included, go to our
stdout for the test to take apart. Exits with the child's exit code.
"""
import fcntl
import os
import pty
import struct
import sys
import termios

columns = int(sys.argv[1])
command = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, columns, 0, 0))
# The child may have started before the size was set: tell it the size changed.
try:
    os.kill(pid, 28)  # SIGWINCH
except ProcessLookupError:
    pass
out = sys.stdout.buffer
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not data:
        break
    out.write(data)
out.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
