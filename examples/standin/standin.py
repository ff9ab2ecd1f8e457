#!/usr/bin/env python3
"""Stand-in server processes that play an OceanBase ``observer`` / ``obproxy`` (and OBD's
``obproxyd`` watchdog) so that obplay's tests and demos stop and kill real processes.

Python 3 standard library only; works on Python 3.7 and later.

  standin.py serve --home H --name observer --pidfile run/observer.pid --ports 2881,2882
                   [--bind 0.0.0.0] [--ignore-term] [--term-delay 0.2] [--foreground]
  standin.py watchdog --home H --pidfile run/obproxyd-IP-PORT.pid --child-pidfile run/obproxy.pid
                   -- <serve args...>
  standin.py start-demo --root DIR [--base-port 30881] [--bind 127.0.0.1]
  standin.py install --home H --kind observer|obproxy --ports A,B [--bind ADDR] [--pidfile P | --no-pidfile]
                   [--listen-delay S] [--fault 'crash [why]'|never-listen|'late S'] [--watchdog obproxyd.sh]
      then, as obshell starts an installed server:  cd H; LD_LIBRARY_PATH=H/lib H/bin/observer
      (see the section "install" below and examples/standin/README.md)

What a stand-in does, like the real server:
  * runs with cwd = its home (obplay proves identity by /proc/<pid>/cwd lying under the home);
  * writes its own pid into the pid file (relative paths are relative to the home) and never
    removes it on exit (the real observer leaves it behind; obplay removes it);
  * listens on every given port (accepting and closing connections) until signalled;
  * SIGTERM/SIGINT: exits after --term-delay seconds, or with --ignore-term logs and keeps running
    (then only SIGKILL ends it);
  * its comm name (``ps -o comm``) is --name (observer, obproxy, obproxyd).

By default ``serve`` and ``watchdog`` daemonize (double fork, setsid, stdio to <home>/log/<name>.log)
and the command returns only once the pid file is written and every port listens, so a caller can
test at once. A busy port makes the command exit non-zero with a message.
"""

import argparse
import errno
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

PR_SET_NAME = 15
EXIT_START_FAILED = 1
EXIT_USAGE = 2


class StartError(Exception):
    """A stand-in could not start (busy port, unwritable pid file...)."""


# ---------------------------------------------------------------------------------------------
# small helpers

def log(msg):
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    frac = "%03d" % (int(time.time() * 1000) % 1000)
    try:
        sys.stderr.write("[%s.%s] [%d] %s\n" % (stamp, frac, os.getpid(), msg))
        sys.stderr.flush()
    except (IOError, OSError, ValueError):
        pass


def set_comm(name):
    """Best effort: make `ps -o comm` show `name` (prctl PR_SET_NAME, else /proc/self/comm)."""
    raw = name.encode("utf-8")[:15]
    try:
        import ctypes  # not shipped with python3-minimal: fall back below
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0) == 0:
            return True
    except Exception:
        pass
    try:
        with open("/proc/self/comm", "wb") as f:
            f.write(raw)
        return True
    except (IOError, OSError):
        return False


def resolve(home, path):
    return path if os.path.isabs(path) else os.path.join(home, path)


def write_pid_file(path, pid):
    d = os.path.dirname(path)
    if d and not os.path.isdir(d):
        os.makedirs(d)
    tmp = "%s.tmp.%d" % (path, pid)
    with open(tmp, "w") as f:
        f.write("%d\n" % pid)
    os.rename(tmp, path)


def read_pid_file(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (IOError, OSError, ValueError):
        return None


def pid_alive(pid):
    """True if the process exists and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (IOError, OSError):
        return False
    fields = data[data.rfind(")") + 2:].split()
    return bool(fields) and fields[0] not in ("Z", "X", "x")


def proc_cwd(pid):
    try:
        return os.readlink("/proc/%d/cwd" % pid)
    except (IOError, OSError):
        return None


def parse_ports(text):
    ports = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            port = int(part)
        except ValueError:
            raise StartError("bad port %r" % part)
        if not 0 < port < 65536:
            raise StartError("bad port %d" % port)
        ports.append(port)
    return ports


def listen_all(bind, ports):
    socks = []
    try:
        for port in ports:
            family = socket.AF_INET6 if ":" in bind else socket.AF_INET
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((bind, port))
                s.listen(128)
            except (IOError, OSError) as e:
                s.close()
                if e.errno == errno.EADDRINUSE:
                    raise StartError("port %d on %s is busy (already in use)" % (port, bind))
                raise StartError("cannot listen on %s:%d: %s" % (bind, port, e))
            s.setblocking(False)
            socks.append(s)
    except StartError:
        for s in socks:
            s.close()
        raise
    return socks


def close_inherited_fds(keep):
    """Close every fd above 2 except `keep` (the daemon must hold nothing of its caller's)."""
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except (IOError, OSError, ValueError):
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def daemonize(home, log_path, keep_fds, run_ready):
    """Double fork. In the daemon: setsid, chdir(home), stdio -> log_path, then run_ready(report)
    which must call report(None) once ready (or report("error text")) and then serve forever.
    In the caller: wait for that report; return the exit status for the command."""
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid > 0:  # the caller
        os.close(w)
        chunks = []
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
        return b"".join(chunks).decode("utf-8", "replace")
    # first child
    try:
        os.close(r)
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        # the daemon
        os.chdir(home)
        os.umask(0o022)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        close_inherited_fds(set(keep_fds) | {w})
    except BaseException as e:  # pragma: no cover - reported to the caller
        try:
            os.write(w, ("ERR daemonize failed: %s\n" % e).encode())
        finally:
            os._exit(EXIT_START_FAILED)

    def report(error):
        if error is None:
            os.write(w, ("OK %d\n" % os.getpid()).encode())
        else:
            os.write(w, ("ERR %s\n" % error).encode())
        os.close(w)

    try:
        code = run_ready(report)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException as e:
        log("fatal: %r" % (e,))
        code = EXIT_START_FAILED
    os._exit(code or 0)


def finish_caller(what, reply):
    reply = reply.strip()
    if reply.startswith("OK "):
        print("%s pid=%s" % (what, reply[3:].strip()))
        sys.stdout.flush()
        return 0
    if reply.startswith("ERR "):
        sys.stderr.write("standin: %s: %s\n" % (what, reply[4:]))
    else:
        sys.stderr.write("standin: %s: the daemon died before it was ready (see its log)\n" % what)
    return EXIT_START_FAILED


# ---------------------------------------------------------------------------------------------
# serve

def serve_loop(name, socks, ignore_term, term_delay, later=None):
    """Accepts on `socks` until signalled. `later` = (monotonic time, fn): at that time fn() is
    called and the sockets it returns are listened on too (a server that listens late)."""
    state = {"term_at": None}
    socks = list(socks)

    def on_signal(signum, frame):
        signame = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}.get(signum, str(signum))
        if ignore_term:
            log("%s: received %s, ignoring it (--ignore-term); only SIGKILL ends me"
                % (name, signame))
            return
        if state["term_at"] is None:
            log("%s: received %s, exiting in %.2fs" % (name, signame, term_delay))
            state["term_at"] = time.monotonic() + term_delay

    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    while True:
        timeout = None
        if state["term_at"] is not None:
            timeout = state["term_at"] - time.monotonic()
            if timeout <= 0:
                break
        if later is not None:
            wait = later[0] - time.monotonic()
            if wait <= 0:
                socks.extend(later[1]())
                later = None
            elif timeout is None or wait < timeout:
                timeout = wait
        try:
            ready, _, _ = select.select(socks + [wake_r], [], [], timeout)
        except (IOError, OSError, select.error) as e:
            if getattr(e, "errno", None) == errno.EINTR or (e.args and e.args[0] == errno.EINTR):
                continue
            raise
        for s in ready:
            if s is wake_r:
                try:
                    while wake_r.recv(64):
                        pass
                except (IOError, OSError):
                    pass
                continue
            try:
                conn, _ = s.accept()
                conn.close()
            except (IOError, OSError):
                pass
    log("%s: exiting (pid file left in place)" % name)
    return 0


def cmd_serve(a):
    home = os.path.abspath(a.home)
    pidfile = resolve(home, a.pidfile)
    try:
        ports = parse_ports(a.ports)
        for d in (home, os.path.join(home, "log"), os.path.dirname(pidfile)):
            if d and not os.path.isdir(d):
                os.makedirs(d)
        socks = listen_all(a.bind, ports)  # bound here: a busy port fails the command itself
    except StartError as e:
        sys.stderr.write("standin: %s: %s\n" % (a.name, e))
        return EXIT_START_FAILED
    except (IOError, OSError) as e:
        sys.stderr.write("standin: %s: %s\n" % (a.name, e))
        return EXIT_START_FAILED
    log_path = os.path.join(home, "log", a.name + ".log")
    desc = "%s home=%s ports=%s" % (a.name, home, ",".join(str(p) for p in ports) or "-")

    def run(report):
        set_comm(a.name)
        try:
            write_pid_file(pidfile, os.getpid())
        except (IOError, OSError) as e:
            report("cannot write pid file %s: %s" % (pidfile, e))
            return EXIT_START_FAILED
        log("%s: started pid=%d cwd=%s listening on %s:%s pidfile=%s ignore_term=%s"
            % (a.name, os.getpid(), os.getcwd(), a.bind, a.ports, pidfile, a.ignore_term))
        report(None)
        return serve_loop(a.name, socks, a.ignore_term, a.term_delay)

    if a.foreground:
        os.chdir(home)

        def report(error):
            if error is None:
                print("started %s pid=%d" % (desc, os.getpid()))
                sys.stdout.flush()
            else:
                sys.stderr.write("standin: %s: %s\n" % (a.name, error))
        return run(report)

    reply = daemonize(home, log_path, [s.fileno() for s in socks], run)
    for s in socks:
        s.close()
    return finish_caller("started " + desc, reply)


# ---------------------------------------------------------------------------------------------
# watchdog (plays OBD's obproxyd)

def serve_option(args, opt):
    for i, x in enumerate(args):
        if x == opt and i + 1 < len(args):
            return args[i + 1]
        if x.startswith(opt + "="):
            return x[len(opt) + 1:]
    return None


def cmd_watchdog(a, serve_args, spawn_cmd=None, record_child=False):
    """spawn_cmd: what to run (default this file's `serve` with serve_args); record_child: write
    the pid the child prints (pid=N) into the child pid file, as OBD's obproxyd.sh does."""
    home = os.path.abspath(a.home)
    if serve_option(serve_args, "--home") is None:
        serve_args = ["--home", home] + serve_args
    child_home = os.path.abspath(serve_option(serve_args, "--home"))
    child_pidfile = a.child_pidfile or serve_option(serve_args, "--pidfile")
    if not child_pidfile:
        sys.stderr.write("standin: watchdog: give --child-pidfile or --pidfile in the serve args\n")
        return EXIT_USAGE
    child_pidfile = resolve(home, child_pidfile)
    pidfile = resolve(home, a.pidfile)
    for d in (home, os.path.join(home, "log"), os.path.dirname(pidfile)):
        if d and not os.path.isdir(d):
            os.makedirs(d)
    if spawn_cmd is None:
        spawn_cmd = [sys.executable, os.path.abspath(__file__), "serve"] + serve_args
    log_path = os.path.join(home, "log", a.name + ".log")

    def child_running():
        pid = read_pid_file(child_pidfile)
        if not pid_alive(pid):
            return False
        cwd = proc_cwd(pid)
        # a pid that was reused by an unrelated process does not count as our child
        return cwd is None or cwd == child_home or cwd.startswith(child_home + os.sep)

    def spawn():
        try:
            p = subprocess.Popen(spawn_cmd, stdin=subprocess.DEVNULL,
                                 cwd=child_home if record_child else None,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            out, _ = p.communicate(timeout=15)
        except Exception as e:
            return "cannot start %s: %s" % (spawn_cmd, e)
        text = out.decode("utf-8", "replace").strip()
        if p.returncode != 0:
            return text or ("serve exited with status %d" % p.returncode)
        log("%s: started child: %s" % (a.name, text))
        if record_child:
            found = re.search(r"pid=(\d+)", text)
            if not found:
                return "the child printed no pid=N: %r" % text
            try:
                write_pid_file(child_pidfile, int(found.group(1)))
            except (IOError, OSError) as e:
                return "cannot write %s: %s" % (child_pidfile, e)
        return None

    def run(report):
        set_comm(a.name)
        state = {"stop": False}

        def on_term(signum, frame):
            state["stop"] = True
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            write_pid_file(pidfile, os.getpid())
        except (IOError, OSError) as e:
            report("cannot write pid file %s: %s" % (pidfile, e))
            return EXIT_START_FAILED
        log("%s: started pid=%d cwd=%s watching %s every %.1fs"
            % (a.name, os.getpid(), os.getcwd(), child_pidfile, a.interval))
        if not child_running():
            err = spawn()
            if err:
                report(err)
                return EXIT_START_FAILED
        report(None)
        while not state["stop"]:
            time.sleep(a.interval)
            if state["stop"]:
                break
            if not child_running():
                log("%s: child %s is gone, respawning" % (a.name, child_pidfile))
                err = spawn()
                if err:
                    log("%s: respawn failed: %s" % (a.name, err))
        log("%s: exiting on signal (pid file left in place)" % a.name)
        return 0

    if a.foreground:
        os.chdir(home)

        def report(error):
            if error is None:
                print("started %s pid=%d" % (a.name, os.getpid()))
                sys.stdout.flush()
            else:
                sys.stderr.write("standin: %s: %s\n" % (a.name, error))
        return run(report)
    reply = daemonize(home, log_path, [], run)
    return finish_caller("started %s home=%s child=%s" % (a.name, home, child_pidfile), reply)


# ---------------------------------------------------------------------------------------------
# start-demo

def touch(path, text=""):
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d)
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(text)


def demo_observer_files(home, zone, mysql_port, rpc_port):
    for d in ("store/clog", "store/slog", "store/sstable", "log", "etc", "run", "bin"):
        p = os.path.join(home, d)
        if not os.path.isdir(p):
            os.makedirs(p)
    touch(os.path.join(home, "etc", "observer.config.bin"),
          "zone=%s\nmysql_port=%d\nrpc_port=%d\n" % (zone, mysql_port, rpc_port))
    touch(os.path.join(home, "etc", "observer.config.bin.history"), "")
    touch(os.path.join(home, "store", "sstable", "block_file"), "\0" * 4096)
    touch(os.path.join(home, "store", "clog", "1"), "clog\n")
    touch(os.path.join(home, "store", "slog", "1"), "slog\n")
    touch(os.path.join(home, "log", "election.log"), "")
    touch(os.path.join(home, "log", "rootservice.log"), "")


def demo_obproxy_files(home, listen_port):
    for d in ("etc", "log", "run", "bin", "lib"):
        p = os.path.join(home, d)
        if not os.path.isdir(p):
            os.makedirs(p)
    touch(os.path.join(home, "etc", "obproxy_config.bin"), "listen_port=%d\n" % listen_port)
    touch(os.path.join(home, "log", "obproxy_diagnosis.log"), "")


def already_running(home, pidfile):
    pid = read_pid_file(pidfile)
    if pid_alive(pid) and proc_cwd(pid) == home:
        return pid
    return None


def cmd_start_demo(a):
    root = os.path.abspath(a.root)
    base = a.base_port
    me = os.path.abspath(__file__)
    started = []
    failed = False

    def install(args):
        p = subprocess.run([sys.executable, me, "install"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            sys.stderr.write(p.stderr.decode("utf-8", "replace"))
        return p.returncode == 0

    def listening(port):
        try:
            socket.create_connection((a.bind if a.bind != "0.0.0.0" else "127.0.0.1", port), 0.2).close()
            return True
        except (IOError, OSError):
            return False

    def launch(label, cmd, home, env, pidfile, ports):
        # as obshell (observer) and OBD (obproxyd.sh) start an installed server: from its home, detached
        pid = already_running(home, pidfile)
        if pid:
            started.append((label, pid, home, "already running"))
            return True
        p = subprocess.run(cmd, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline and not (pid_alive(read_pid_file(pidfile)) and all(listening(q) for q in ports)):
            time.sleep(0.1)
        if p.returncode != 0 or not pid_alive(read_pid_file(pidfile)) or not all(listening(q) for q in ports):
            sys.stderr.write(p.stdout.decode("utf-8", "replace"))
            return False
        started.append((label, read_pid_file(pidfile), home, "started from " + cmd[0 if cmd[0] != "bash" else 1]))
        return True

    for i, zone in enumerate(("zone1", "zone2", "zone3")):
        home = os.path.join(root, zone + "-a")
        mysql_port, rpc_port = base + 10 * i, base + 10 * i + 1
        demo_observer_files(home, zone, mysql_port, rpc_port)
        ok = install(["--home", home, "--kind", "observer", "--ports", "%d,%d" % (mysql_port, rpc_port),
                      "--bind", a.bind, "--zone", zone, "--pidfile", "run/observer.pid"])
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(home, "lib"))
        ok = ok and launch("observer %s mysql=%d rpc=%d" % (zone, mysql_port, rpc_port),
                           [os.path.join(home, "bin", "observer")], home, env,
                           os.path.join(home, "run", "observer.pid"), (mysql_port, rpc_port))
        failed = failed or not ok

    home = os.path.join(root, "obproxy")
    listen_port, prom_port = base + 2, base + 3
    demo_obproxy_files(home, listen_port)
    child_pid = "run/obproxy-%s-%d.pid" % (a.bind, listen_port)
    daemon_pid = "run/obproxyd-%s-%d.pid" % (a.bind, listen_port)
    ok = install(["--home", home, "--kind", "obproxy", "--ports", "%d,%d" % (listen_port, prom_port),
                  "--bind", a.bind, "--pidfile", child_pid, "--watchdog", "obproxyd.sh"])
    ok = ok and launch("obproxyd (watchdog of obproxy)",
                       ["bash", os.path.join(home, "obproxyd.sh"), home, a.bind, str(listen_port), "daemon"],
                       home, dict(os.environ), os.path.join(home, daemon_pid), (listen_port, prom_port))
    if ok:
        deadline = time.time() + 15
        while time.time() < deadline and not pid_alive(read_pid_file(os.path.join(home, child_pid))):
            time.sleep(0.1)
        ok = pid_alive(read_pid_file(os.path.join(home, child_pid)))
    failed = failed or not ok
    if ok:
        started.append(("obproxy listen=%d prometheus=%d" % (listen_port, prom_port),
                        read_pid_file(os.path.join(home, child_pid)), home, "run by obproxyd"))

    print("stand-in cluster under %s:" % root)
    for label, pid, home, how in started:
        print("  %-40s pid=%-7s home=%s (%s)" % (label, pid, home, how))
    if failed:
        sys.stderr.write("standin: start-demo: some servers did not start\n")
        return EXIT_START_FAILED
    return 0


# ---------------------------------------------------------------------------------------------
# install: startable stand-ins (bin/observer, bin/obproxy, obproxyd.sh in a server's home)
#
# `install` copies this very file to <home>/bin/observer or <home>/bin/obproxy. Run under that name
# (as obshell runs an installed server: `cd <home>; LD_LIBRARY_PATH=<home>/lib <home>/bin/observer`,
# no arguments), it is the server: it reads its config from etc/ under its cwd, daemonizes (the
# command exits 0 once the daemon has written its pid file), listens after a delay, and logs to
# log/<kind>.log. A fault file etc/standin.fault makes it crash at start, never listen, or listen late.

KINDS = {
    # kind: (config file under the home, its port keys in order of --ports)
    "observer": ("etc/observer.config.bin", ("mysql_port", "rpc_port")),
    "obproxy": ("etc/obproxy_config.bin", ("listen_port", "prometheus_listen_port")),
}
FAULT_FILE = "etc/standin.fault"
CONFIG_HEADER = ("# stand-in %s config written by standin.py install: key=value lines, not OceanBase's\n"
                 "# binary format. pidfile= (empty) writes no pid file; listen_delay is in seconds.\n")


def read_config(path):
    """key=value lines; '#' starts a comment line. Returns a dict, or raises StartError."""
    conf = {}
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if "=" not in line:
                    raise StartError("%s:%d: not key=value: %r" % (path, n, line))
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    except (IOError, OSError) as e:
        raise StartError("cannot read %s: %s" % (path, e.strerror or e))
    return conf


def read_fault(home):
    """The first line of etc/standin.fault: ('crash', reason) | ('never-listen', None) |
    ('late', seconds) | (None, None) when there is no such file."""
    path = os.path.join(home, FAULT_FILE)
    try:
        with open(path) as f:
            line = (f.readline() or "").strip()
    except (IOError, OSError):
        return None, None
    word, _, rest = line.partition(" ")
    rest = rest.strip()
    if word == "crash":
        return "crash", rest or "told to crash by %s" % FAULT_FILE
    if word == "never-listen":
        return "never-listen", None
    if word == "late":
        try:
            return "late", float(rest)
        except ValueError:
            raise StartError("%s: 'late' needs seconds, got %r" % (path, rest))
    raise StartError("%s: unknown fault %r (crash [reason] | never-listen | late SECONDS)" % (path, line))


def installed_server(kind, args):
    """The program run as <home>/bin/observer or <home>/bin/obproxy."""
    home = os.getcwd()
    conf_rel, port_keys = KINDS[kind]
    conf_path = os.path.join(home, conf_rel)
    listen_override = None
    if kind == "obproxy" and "--listen_port" in args:  # obproxyd.sh runs `bin/obproxy --listen_port P`
        i = args.index("--listen_port")
        listen_override = args[i + 1] if i + 1 < len(args) else ""
    try:
        if not os.path.isfile(conf_path):
            raise StartError("%s does not exist under %s (run me from the home, as obshell does)"
                             % (conf_rel, home))
        conf = read_config(conf_path)
        if listen_override is not None:
            conf["listen_port"] = listen_override
        ports = parse_ports(",".join(conf.get(k, "") for k in port_keys))
        bind = conf.get("bind", "0.0.0.0")
        pidfile = conf.get("pidfile", "run/%s.pid" % kind)
        pidfile = resolve(home, pidfile) if pidfile else None
        delay = float(conf.get("listen_delay", "0") or 0)
        term_delay = float(conf.get("term_delay", "0.2") or 0.2)
        ignore_term = conf.get("ignore_term", "0") in ("1", "true", "yes")
        fault, fault_arg = read_fault(home)
        log_dir = os.path.join(home, "log")
        if not os.path.isdir(log_dir):
            os.makedirs(log_dir)
    except (StartError, ValueError, IOError, OSError) as e:
        sys.stderr.write("standin %s: %s\n" % (kind, e))
        return EXIT_START_FAILED
    if fault == "late":
        delay = fault_arg
    log_path = os.path.join(home, "log", kind + ".log")

    def bind_now():
        try:
            socks = listen_all(bind, ports)
        except StartError as e:
            log("%s: ERROR: exiting: %s" % (kind, e))
            raise SystemExit(EXIT_START_FAILED)
        log("%s: listening on %s:%s" % (kind, bind, ",".join(str(p) for p in ports)))
        return socks

    def run(report):
        set_comm(kind)
        if pidfile:
            try:
                write_pid_file(pidfile, os.getpid())
            except (IOError, OSError) as e:
                report("cannot write pid file %s: %s" % (pidfile, e))
                return EXIT_START_FAILED
        log("%s: started pid=%d cwd=%s config=%s pidfile=%s ports=%s listen_delay=%.2fs fault=%s"
            % (kind, os.getpid(), os.getcwd(), conf_rel, pidfile or "(none)",
               ",".join(str(p) for p in ports), delay, fault or "none"))
        report(None)
        if fault == "crash":
            time.sleep(0.1)
            log("%s: ERROR: crashing at start: %s" % (kind, fault_arg))
            return EXIT_START_FAILED
        if fault == "never-listen":
            log("%s: never listening (%s says never-listen)" % (kind, FAULT_FILE))
            return serve_loop(kind, [], ignore_term, term_delay)
        return serve_loop(kind, [], ignore_term, term_delay, later=(time.monotonic() + delay, bind_now))

    reply = daemonize(home, log_path, [], run).strip()
    if reply.startswith("OK "):
        print("%s: daemonized, pid=%s" % (kind, reply[3:].strip()))
        sys.stdout.flush()
        return 0
    sys.stderr.write("standin %s: %s\n" % (kind, reply[4:] if reply.startswith("ERR ") else
                                            "the daemon died before it was ready (see %s)" % log_path))
    return EXIT_START_FAILED


OBPROXYD_SH = """#!/bin/bash
# Stand-in of OBD's obproxyd.sh (plugins/obproxy/*/obproxyd.sh), written by standin.py install.
# Usage, as OBD runs it: bash obproxyd.sh <home> <ip> <listen_port> [daemon]
# It runs <home>/bin/obproxy's watchdog mode: a daemon (comm obproxyd) that writes
# <home>/run/obproxyd-<ip>-<port>.pid and keeps `cd <home>; bin/obproxy --listen_port <port>` running,
# writing that obproxy's pid to <home>/run/obproxy-<ip>-<port>.pid.
exec "$1/bin/obproxy" --standin-obproxyd "$@"
"""


def installed_watchdog(args):
    """bin/obproxy --standin-obproxyd <home> <ip> <port> [daemon] (what obproxyd.sh runs)."""
    if len(args) < 3:
        sys.stderr.write("usage: obproxyd.sh <home> <ip> <listen_port> [daemon]\n")
        return EXIT_USAGE
    home, ip, port = os.path.abspath(args[0]), args[1], args[2]
    me = os.path.join(home, "bin", "obproxy")
    a = argparse.Namespace(home=home, name="obproxyd", pidfile="run/obproxyd-%s-%s.pid" % (ip, port),
                           child_pidfile="run/obproxy-%s-%s.pid" % (ip, port), interval=0.3,
                           foreground=False)
    old = read_pid_file(resolve(home, a.pidfile))
    old_cwd = proc_cwd(old) if pid_alive(old) else None
    if old_cwd and (old_cwd == home or old_cwd.startswith(home + os.sep)):
        try:  # OBD's obproxyd.sh kills the watchdog named by its pid file before it takes over
            os.kill(old, signal.SIGKILL)
        except OSError:
            pass
    return cmd_watchdog(a, [], spawn_cmd=[me, "--listen_port", port], record_child=True)


def cmd_install(a):
    home = os.path.abspath(a.home)
    conf_rel, port_keys = KINDS[a.kind]
    try:
        ports = parse_ports(a.ports)
    except StartError as e:
        sys.stderr.write("standin: install: %s\n" % e)
        return EXIT_USAGE
    if len(ports) != len(port_keys):
        sys.stderr.write("standin: install: --ports needs %d ports (%s)\n" % (len(port_keys), ",".join(port_keys)))
        return EXIT_USAGE
    if a.fault:
        try:
            word = a.fault.split()[0]
        except IndexError:
            word = ""
        if word not in ("crash", "never-listen", "late"):
            sys.stderr.write("standin: install: --fault is crash [reason] | never-listen | late SECONDS\n")
            return EXIT_USAGE
    for d in ("bin", "lib", "etc", "log", "run"):
        p = os.path.join(home, d)
        if not os.path.isdir(p):
            os.makedirs(p)
    lines = [CONFIG_HEADER % a.kind]
    if a.kind == "observer":
        lines.append("zone=%s\n" % a.zone)
    for k, port in zip(port_keys, ports):
        lines.append("%s=%d\n" % (k, port))
    pidfile = "" if a.no_pidfile else (a.pidfile or "run/%s.pid" % a.kind)
    lines.append("bind=%s\npidfile=%s\nlisten_delay=%s\nterm_delay=%s\nignore_term=%d\n"
                 % (a.bind, pidfile, a.listen_delay, a.term_delay, 1 if a.ignore_term else 0))
    with open(os.path.join(home, conf_rel), "w") as f:
        f.write("".join(lines))
    fault_path = os.path.join(home, FAULT_FILE)
    if a.fault:
        with open(fault_path, "w") as f:
            f.write(a.fault + "\n")
    elif os.path.exists(fault_path):
        os.remove(fault_path)
    binary = os.path.join(home, "bin", a.kind)
    with open(os.path.abspath(__file__), "rb") as src:
        body = src.read()
    tmp = binary + ".tmp.%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(body)
    os.chmod(tmp, 0o755)
    os.rename(tmp, binary)
    made = [binary]
    if a.kind == "obproxy" and a.watchdog:
        wd = resolve(home, a.watchdog)
        if not os.path.isdir(os.path.dirname(wd)):
            os.makedirs(os.path.dirname(wd))
        with open(wd, "w") as f:
            f.write(OBPROXYD_SH)
        os.chmod(wd, 0o755)
        made.append(wd)
    print("installed %s in %s: %s" % (a.kind, home, " ".join(made)))
    return 0


# ---------------------------------------------------------------------------------------------

def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0])
    if prog == "obproxy" and argv[:1] == ["--standin-obproxyd"]:
        return installed_watchdog(argv[1:])
    if prog in KINDS:
        return installed_server(prog, argv)
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]

    ap = argparse.ArgumentParser(prog="standin.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")

    s = sub.add_parser("serve", help="play an observer/obproxy")
    s.add_argument("--home", required=True)
    s.add_argument("--name", default="observer")
    s.add_argument("--pidfile", default=None, help="default run/<name>.pid")
    s.add_argument("--ports", default="")
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--ignore-term", action="store_true")
    s.add_argument("--term-delay", type=float, default=0.2)
    s.add_argument("--foreground", action="store_true")

    w = sub.add_parser("watchdog", help="play OBD's obproxyd: respawn the child when it is gone")
    w.add_argument("--home", required=True)
    w.add_argument("--name", default="obproxyd")
    w.add_argument("--pidfile", required=True)
    w.add_argument("--child-pidfile", default=None)
    w.add_argument("--interval", type=float, default=0.3)
    w.add_argument("--foreground", action="store_true")

    i = sub.add_parser("install", help="make a home's bin/observer or bin/obproxy a startable stand-in")
    i.add_argument("--home", required=True)
    i.add_argument("--kind", choices=sorted(KINDS), required=True)
    i.add_argument("--ports", required=True, help="observer: MYSQL,RPC; obproxy: LISTEN,PROMETHEUS")
    i.add_argument("--bind", default="0.0.0.0")
    i.add_argument("--zone", default="zone1")
    i.add_argument("--pidfile", default=None, help="default run/<kind>.pid (relative to the home)")
    i.add_argument("--no-pidfile", action="store_true", help="write no pid file at all")
    i.add_argument("--listen-delay", type=float, default=0.5)
    i.add_argument("--term-delay", type=float, default=0.2)
    i.add_argument("--ignore-term", action="store_true")
    i.add_argument("--fault", default=None, help="write etc/standin.fault: 'crash [reason]', "
                   "'never-listen' or 'late SECONDS'")
    i.add_argument("--watchdog", default=None, metavar="PATH",
                   help="obproxy: also write OBD's obproxyd.sh there (relative to the home, e.g. obproxyd.sh)")

    d = sub.add_parser("start-demo", help="start 3 observers and an obproxy with its watchdog")
    d.add_argument("--root", required=True)
    d.add_argument("--base-port", type=int, default=30881)
    d.add_argument("--bind", default="127.0.0.1")

    a = ap.parse_args(argv)
    if a.cmd is None:
        ap.print_help()
        return EXIT_USAGE
    if a.cmd == "watchdog":
        if not extra:
            ap.error("watchdog needs the serve arguments after --")
        return cmd_watchdog(a, extra)
    if extra:
        ap.error("unexpected arguments after --: %s" % " ".join(extra))
    if a.cmd == "install":
        return cmd_install(a)
    if a.cmd == "serve":
        if a.pidfile is None:
            a.pidfile = os.path.join("run", a.name + ".pid")
        return cmd_serve(a)
    return cmd_start_demo(a)


if __name__ == "__main__":
    sys.exit(main())
