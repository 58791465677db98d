"""A real two-node Slurm cluster on this one host, private to one test run.

SlurmCluster (a context manager, needs root) makes a temp dir and starts in
it: munged (own key and socket), slurmctld and two slurmd ("node1", "node2",
both on 127.0.0.1 with their own ports), all with a slurm.conf written at run
time with free TCP ports and a unique ClusterName.  Nothing reads the
system's /etc/slurm or /etc/munge.  Clients (sbatch, squeue, scontrol,
scancel, sinfo) find the cluster through `cluster.env` (SLURM_CONF).
close() stops every process it started, by pid, and removes the temp dir, so
two runs can go on side by side.

Also here: slurm_missing() (the tests' skip check) and wait_for() (poll
until true).  Used by tests/integration/test_slurm*.py (Python standard
library only); facts measured with it are in tests/support/SLURM_NOTES.md.
"""
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

NODES = ("node1", "node2")
PARTITION = "debug"
# The scheduler's passes: every second (Slurm's defaults are sched_interval=60,
# bf_interval=30; a submission or a job's end also starts a pass unless
# "defer" is set).  bench/bench_slurm.py compares with other values.
SCHED = "bf_interval=1,sched_interval=1,sched_min_interval=100000"

# Short timeouts so node-failure tests take seconds: cred_expire (in
# AuthInfo) is also how long a requeued job waits before it may start again
# (default 120 s).  MessageTimeout also
# bounds how long a client (sbatch, squeue) waits for a dead controller.
CONF = """\
ClusterName={cluster}
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock},cred_expire=5
CredType=cred/munge
StateSaveLocation={tmp}/state
SlurmdSpoolDir={tmp}/spool-%n
SlurmctldPidFile={tmp}/slurmctld.pid
SlurmdPidFile={tmp}/slurmd-%n.pid
SlurmctldLogFile={tmp}/slurmctld.log
SlurmdLogFile={tmp}/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
LaunchParameters=use_interactive_step
SchedulerType=sched/backfill
SchedulerParameters={sched}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
ReturnToService=2
JobRequeue=1
SlurmdTimeout=5
SlurmctldTimeout=5
MessageTimeout=2
TCPTimeout=2
KillWait=2
MinJobAge=5
InactiveLimit=0
Waittime=0
BatchStartTimeout=5
UnkillableStepTimeout=10
NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 Port={port_node1} CPUs=2 RealMemory=4000 State=UNKNOWN
NodeName=node2 NodeHostname=localhost NodeAddr=127.0.0.1 Port={port_node2} CPUs=2 RealMemory=4000 State=UNKNOWN
PartitionName={partition} Nodes=node1,node2 Default=YES MaxTime=INFINITE State=UP
"""


class ClusterError(RuntimeError):
    pass


def free_port(taken=()):
    """A port free now, below the kernel's ephemeral range: a port bind(0)
    hands out is in that range, where any outgoing connection (squeue, sbatch,
    another test's client) may take it before slurmctld binds it."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if port in taken:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise ClusterError("no free port in 20000-32000")


def _tail(path, lines=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(%s)" % e


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _unix_paths():
    """Inode -> path of every bound unix socket (/proc/net/unix)."""
    out = {}
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) >= 8:
                    out[parts[6]] = parts[7]
    except OSError:
        pass
    return out


def _socket_inodes(pid):
    out = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for fd in fds:
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            out.add(t[8:-1])
    return out


def descendants(pids):
    """pids and every process below them (by parent pid in /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            pp = _ppid(int(d))
            if pp is not None:
                children.setdefault(pp, []).append(int(d))
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.append(p)
        todo += children.get(p, [])
    return out


def marked_pids(tmp):
    """Pids of the processes whose environment holds AELAB_SLURM_RUN=tmp
    (everything a SlurmCluster in temp dir tmp started, but munged)."""
    mark = ("AELAB_SLURM_RUN=%s" % tmp).encode()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if mark in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def slurm_missing():
    """Why this host cannot run a private cluster (not root, no munged or
    slurmctld), or None when it can."""
    if os.geteuid() != 0 or not shutil.which("slurmctld") or not shutil.which("munged"):
        return "needs root, munge and Slurm (scripts/setup.sh)"
    return None


def wait_for(pred, timeout, step=0.1):
    """pred() until truthy or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def _alive(pid):
    """False once pid is gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class SlurmCluster:
    def __init__(self, start_timeout=30, scheduler_parameters=SCHED):
        self.start_timeout = start_timeout
        self.sched = scheduler_parameters
        self.tmp = None
        self.procs = {}      # name -> Popen: "munged", "slurmctld", "node1", ...
        self.munged_pid = None
        self.env = None

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        if os.geteuid() != 0:
            raise ClusterError("SlurmCluster needs root (slurmd runs jobs as any user)")
        self.tmp = tempfile.mkdtemp(prefix="aelab-slurm-")
        os.chmod(self.tmp, 0o755)
        self.cluster = "t%s" % os.urandom(5).hex()
        self.sock = os.path.join(self.tmp, "munge", "munge.sock")
        self._start_munged()
        os.makedirs(os.path.join(self.tmp, "state"))
        self.conf = os.path.join(self.tmp, "slurm.conf")
        self._write_conf()
        self.env = dict(os.environ)
        self.env["SLURM_CONF"] = self.conf
        # Marks every process of this cluster (daemons, slurmstepd, jobs) so
        # close() can find them by pid without touching another run's.
        self.env["AELAB_SLURM_RUN"] = self.tmp
        for k in list(self.env):
            if k.startswith(("SLURM_", "SBATCH_", "SQUEUE_", "SINFO_")) and k != "SLURM_CONF":
                del self.env[k]
        # A port can still be taken between the check and the bind (other
        # tests run beside this one): then new ports, up to three times.
        for attempt in range(3):
            try:
                self.start_controller()
                break
            except ClusterError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
                self._write_conf()
        for n in NODES:
            self.restart_slurmd(n, wait=False)
        self.wait_nodes({n: "idle" for n in NODES}, self.start_timeout)

    def _write_conf(self):
        self.ports = {}
        self.ports["ctld"] = free_port()
        for n in NODES:
            self.ports[n] = free_port(self.ports.values())
        with open(self.conf, "w") as f:
            f.write(CONF.format(cluster=self.cluster, tmp=self.tmp, sock=self.sock,
                                partition=PARTITION,
                                sched=self.sched,
                                ctld_port=self.ports["ctld"],
                                port_node1=self.ports["node1"],
                                port_node2=self.ports["node2"]))

    def _start_munged(self):
        mdir = os.path.dirname(self.sock)
        os.makedirs(mdir)
        key = os.path.join(mdir, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        try:
            pw = pwd.getpwnam("munge")
            uid, gid = pw.pw_uid, pw.pw_gid
        except KeyError:
            uid, gid = 0, 0
        for p in (mdir, key):
            os.chown(p, uid, gid)
        os.chmod(mdir, 0o700 if uid == 0 else 0o755)
        os.chmod(key, 0o400)
        args = ["munged", "--foreground", "--socket=" + self.sock,
                "--key-file=" + key,
                "--pid-file=" + os.path.join(mdir, "munged.pid"),
                "--log-file=" + os.path.join(mdir, "munged.log"),
                "--seed-file=" + os.path.join(mdir, "munged.seed")]
        if uid == 0:
            args.append("--force")

        def demote():
            os.setsid()
            if uid != 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

        out = open(os.path.join(self.tmp, "munged.out"), "wb")
        self.procs["munged"] = subprocess.Popen(args, stdout=out, stderr=out,
                                                stdin=subprocess.DEVNULL,
                                                preexec_fn=demote)
        out.close()
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if self.procs["munged"].poll() is not None or time.monotonic() > deadline:
                raise ClusterError("munged did not start:\n%s\n%s" % (
                    _tail(os.path.join(self.tmp, "munged.out")),
                    _tail(os.path.join(mdir, "munged.log"))))
            time.sleep(0.05)

    def _spawn(self, name, args):
        out = open(os.path.join(self.tmp, name + ".out"), "ab")
        p = subprocess.Popen(args, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                             env=self.env, start_new_session=True)
        out.close()
        self.procs[name] = p
        return p

    def _stop(self, name, sig=signal.SIGTERM, timeout=10):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return
        try:
            p.send_signal(sig)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def start_controller(self):
        """Start slurmctld (in the foreground, so we hold its pid); wait until
        it answers."""
        self._stop("slurmctld")
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", self.conf])
        deadline = time.monotonic() + self.start_timeout
        while True:
            r = self.run(["scontrol", "ping"], timeout=10)
            if "UP" in r.stdout:
                return
            if self.procs["slurmctld"].poll() is not None or time.monotonic() > deadline:
                raise ClusterError("slurmctld did not come up:\n" + self.logs())
            time.sleep(0.1)

    def stop_controller(self):
        self._stop("slurmctld")

    def kill_slurmd(self, node):
        """SIGKILL the node's slurmd (its job steps, in slurmstepd, live on)."""
        p = self.procs[node]
        p.kill()
        p.wait(5)

    def step_pids(self, node):
        """Pids of the slurmstepd processes of `node` (every job step the
        node runs).  All nodes share this host and slurmstepd outlives its
        slurmd (its parent is then init), so neither the parent nor the
        environment says which node a slurmstepd serves.  Its own socket
        does: each slurmstepd binds <SlurmdSpoolDir>/<node>_<job>.<step>,
        and SlurmdSpoolDir is spool-%n, one per node (/proc/net/unix maps
        the socket inodes in /proc/PID/fd to those paths).  Fallback, for a
        step caught before it binds: a child whose command line runs the
        batch script from spool-<node>/."""
        spool = os.path.join(self.tmp, "spool-%s" % node) + os.sep
        paths = _unix_paths()
        out = []
        for pid in self.run_pids():
            if not _cmdline(pid).startswith("slurmstepd"):
                continue
            mine = any(paths.get(i, "").startswith(spool) for i in _socket_inodes(pid))
            if not mine:
                mine = any(spool in _cmdline(k) for k in descendants([pid])[1:])
            if mine:
                out.append(pid)
        return out

    def fail_node(self, node):
        """Model a machine that died: SIGKILL the node's slurmd, every
        slurmstepd of that node and every process below them (the job
        scripts and what they run), all stopped first (SIGSTOP) so none
        writes or forks while the others die.  kill_slurmd alone is not a
        node failure here: the steps live on beside their requeued copies
        (SLURM_NOTES.md).  Returns the pids killed (slurmd's first)."""
        p = self.procs[node]
        victims = [p.pid] if p.poll() is None else []
        victims += descendants(self.step_pids(node))
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in victims:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        p.wait(5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not [v for v in victims if _alive(v)]:
                break
            time.sleep(0.05)
        return victims

    def restart_slurmd(self, node, wait=True):
        self._stop(node)
        self._spawn(node, ["slurmd", "-D", "-N", node, "-f", self.conf])
        if wait:
            self.wait_nodes({node: "idle"}, self.start_timeout)

    def run_pids(self):
        """Pids of every process marked with this run (daemons, slurmstepd,
        job scripts), found in /proc."""
        return marked_pids(self.tmp)

    def close(self):
        if self.tmp is None:
            return
        for name in [n for n in self.procs if n != "munged"]:
            self._stop(name, timeout=5)
        for _ in range(3):
            pids = self.run_pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.2)
        self._stop("munged")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None

    # -- clients -------------------------------------------------------------

    def run(self, args, timeout=30, **kw):
        """Run a Slurm client against this cluster; returns CompletedProcess
        (text, stdout and stderr captured)."""
        return subprocess.run(args, env=self.env, capture_output=True, text=True,
                              timeout=timeout, **kw)

    def sbatch(self, script, *opts, cwd=None, timeout=30):
        """Submit `script` (text, a #!/bin/sh batch script) with sbatch
        --parsable and the given options.  Returns (jobid or None,
        CompletedProcess)."""
        path = os.path.join(self.tmp, "job-%s.sh" % os.urandom(4).hex())
        with open(path, "w") as f:
            f.write(script)
        r = self.run(["sbatch", "--parsable", "--chdir", cwd or self.tmp]
                     + list(opts) + [path], timeout=timeout)
        jobid = None
        if r.returncode == 0 and r.stdout.strip():
            jobid = r.stdout.strip().split(";")[0]
        return jobid, r

    def squeue_state(self, jobid):
        """The job's state from `squeue -h -t all -j ID -o %T` (PENDING,
        RUNNING, COMPLETING, COMPLETED, CANCELLED, FAILED, NODE_FAIL...), or
        None once the controller has forgotten it (MinJobAge after the end).
        Without -t all, squeue hides finished jobs.  Raises ClusterError when
        squeue fails otherwise (e.g. the controller is down)."""
        r = self.run(["squeue", "-h", "-t", "all", "-j", str(jobid), "-o", "%T"])
        if r.returncode != 0:
            if "Invalid job id" in r.stderr:
                return None
            raise ClusterError("squeue: %s" % r.stderr.strip())
        return r.stdout.strip() or None

    def scontrol_show_job(self, jobid):
        """`scontrol show job -o ID` as a dict (field -> value), {} once the
        controller has forgotten the job; ClusterError when scontrol fails
        otherwise (e.g. the controller is down)."""
        r = self.run(["scontrol", "show", "job", "-o", str(jobid)])
        if r.returncode != 0:
            if "Invalid job id" in r.stderr:
                return {}
            raise ClusterError("scontrol show job: %s" % r.stderr.strip())
        out = {}
        for tok in r.stdout.strip().split(" "):
            k, sep, v = tok.partition("=")
            if sep:
                out[k] = v
            elif out:  # a value with a space in it (rare): glue it back
                last = list(out)[-1]
                out[last] += " " + tok
        return out

    def node_states(self):
        r = self.run(["sinfo", "-h", "-N", "-o", "%N %T"])
        out = {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
        return out

    def wait_nodes(self, want, timeout):
        """Wait until every node in `want` (name -> sinfo state, e.g.
        "idle", "down") shows that state; raise with the logs if not."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.node_states()
            if all(st.get(n, "").rstrip("*~#$@^-") == s for n, s in want.items()):
                return st
            if time.monotonic() > deadline:
                raise ClusterError("nodes not %r after %ds (sinfo: %r)\n%s"
                                   % (want, timeout, st, self.logs()))
            time.sleep(0.2)

    def wait_job(self, jobid, pred, timeout, step=0.2):
        """Poll scontrol_show_job until pred(info) is true; return info, or
        None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.scontrol_show_job(jobid)
            if pred(info):
                return info
            time.sleep(step)
        return None

    def logs(self):
        parts = []
        for name in ["slurmctld"] + ["slurmd-%s" % n for n in NODES]:
            parts.append("--- %s.log ---\n%s" % (name, _tail(os.path.join(self.tmp, name + ".log"))))
        for name in ["slurmctld"] + list(NODES):
            parts.append("--- %s.out ---\n%s" % (name, _tail(os.path.join(self.tmp, name + ".out"))))
        return "\n".join(parts)
