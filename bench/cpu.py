"""CPU seconds (user + system) a process tree has used so far: each given process, the
children it has reaped, and its live descendants. The load scripts read it before and after a
run to count a server's and the database's CPU. Usage: python3 bench/cpu.py PID..."""
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def stat(pid):
    """utime, stime, cutime, cstime of `pid` in ticks (the fields after the command name)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return [int(x) for x in fields[11:15]]


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def tree_ticks(pid):
    try:
        total = sum(stat(pid))
    except OSError:
        return 0
    return total + sum(tree_ticks(child) for child in children(pid))


print(f"{sum(tree_ticks(int(pid)) for pid in sys.argv[1:]) / TICKS:.2f}")
