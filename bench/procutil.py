"""What the server benchmarks (serve_load.py, serve_churn.py) need of the OS: a free
loopback port, and a process's resident memory and open file descriptors."""
import os, socket


def rss_fds(pid):
    """(RSS MiB, open fds) of pid from /proc, or (None, None) once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return None, None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
