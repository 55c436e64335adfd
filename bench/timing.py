"""Reading `/usr/bin/time -v` reports, for the scripts that compose BENCHMARKS.md sections."""
import re
from pathlib import Path


def time_v(path: Path):
    """Wall seconds and peak RSS (MiB) from a `/usr/bin/time -v` report."""
    text = Path(path).read_text()
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    wall = 0.0
    for part in clock.split(":"):
        wall = wall * 60 + float(part)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    return wall, rss
