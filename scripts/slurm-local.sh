#!/usr/bin/env bash
# A real single-node Slurm for tests and for trying `rethink reproduce --executor slurm`,
# without systemd and without touching the machine's own Slurm or munge:
#
#   eval "$(scripts/slurm-local.sh up)"    # prints `export SLURM_CONF=...` lines
#   scripts/slurm-local.sh down            # stops exactly the daemons `up` started
#
# Everything lives in one folder ($SLURM_LOCAL_DIR, default target/slurm-local): its own
# slurm.conf and gres.conf, its own munge key and socket, state, logs and pid files, two
# fake GPUs (character devices, as Slurm's gres plugin requires), and ports of its own
# (SLURM_LOCAL_PORT and the next one, default 16817-16818). Nothing is written under /etc,
# and the daemons are started with -f on that slurm.conf, so a real cluster's daemons
# and configuration are never read or signalled. `down` signals only the pids in the
# folder's pid files, and only when they are the daemons it started.
#
# Needs root (slurmd and munged run as root and as munge) and Debian's slurmctld, slurmd,
# slurm-client and munge packages; `up` installs them with apt-get when they are missing.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-$(pwd)/target/slurm-local}
PORT=${SLURM_LOCAL_PORT:-16817}
CONF=$DIR/slurm.conf
MUNGE=$DIR/munge
SOCKET=$MUNGE/run/munge.socket
say() { echo "slurm-local: $*" >&2; }
die() { say "$*"; exit 1; }

# The pid in $1 if it names a live process whose command line contains $2.
live_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2" || return 1
  echo "$pid"
}

exports() {
  echo "export SLURM_CONF=$CONF"
  echo "export SLURM_LOCAL_DIR=$DIR"
}

install_packages() {
  local missing=()
  for b in slurmctld slurmd sbatch munged; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install Debian's slurmctld slurmd slurm-client munge (as root)"
  say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >&2
}

up() {
  [ "$(id -u)" = 0 ] || die "run as root: slurmd and munged need it"
  if live_pid "$DIR/slurmctld.pid" slurmctld >/dev/null && live_pid "$DIR/slurmd.pid" slurmd >/dev/null; then
    say "already up in $DIR"
    exports
    return
  fi
  install_packages
  # The ports must be free: a port in use may be another Slurm's.
  for p in "$PORT" "$((PORT + 1))"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "port $p is in use (another Slurm?); set SLURM_LOCAL_PORT to a free pair"
    fi
  done
  down_quiet
  local host
  host=$(hostname -s)
  mkdir -p "$DIR"/{state,spool,dev} "$MUNGE/run"
  # munge: its own key, socket, log and pid file; munged refuses folders others may write.
  [ -s "$MUNGE/munge.key" ] || dd if=/dev/urandom of="$MUNGE/munge.key" bs=1024 count=1 status=none
  chown -R munge:munge "$MUNGE"
  # munged requires every folder above its socket to be searchable by all, and its key
  # readable by munge alone.
  chmod 711 "$MUNGE"
  chmod 755 "$MUNGE/run"
  chmod 600 "$MUNGE/munge.key"
  runuser -u munge -- munged --socket="$SOCKET" --key-file="$MUNGE/munge.key" \
    --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed" \
    || die "munged did not start; see $MUNGE/munged.log"
  # Two fake GPUs: character devices (the null device's numbers), as gres requires.
  for i in 0 1; do
    [ -c "$DIR/dev/gpu$i" ] || { rm -f "$DIR/dev/gpu$i"; mknod "$DIR/dev/gpu$i" c 1 3; }
  done
  cat > "$CONF" <<EOF
# Written by scripts/slurm-local.sh: a single-node Slurm in $DIR.
ClusterName=rethinklocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
MinJobAge=600
MailProg=/bin/true
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 Gres=gpu:2 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  cat > "$DIR/gres.conf" <<EOF
NodeName=$host Name=gpu File=$DIR/dev/gpu[0-1]
EOF
  slurmctld -c -f "$CONF" || die "slurmctld did not start; see $DIR/slurmctld.log"
  slurmd -f "$CONF" || die "slurmd did not start; see $DIR/slurmd.log"
  local i
  for i in $(seq 1 60); do
    if SLURM_CONF=$CONF sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      say "up: node $host, 2 CPUs, 2 fake GPUs, state in $DIR"
      exports
      return
    fi
    sleep 0.5
  done
  die "the node did not come up in 30 s; see $DIR/slurmctld.log and $DIR/slurmd.log"
}

# Stops the daemons named by the folder's pid files, newest first, and waits for them.
down_quiet() {
  local f pid pids=()
  for f in slurmd.pid:slurmd slurmctld.pid:slurmctld munge/munged.pid:munged; do
    if pid=$(live_pid "$DIR/${f%%:*}" "${f##*:}"); then
      kill "$pid" && pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  [ ${#pids[@]} -eq 0 ] || say "stopped ${#pids[@]} daemon(s) of $DIR"
}

case "${1:-}" in
  up) up ;;
  down) down_quiet ;;
  *) echo "usage: $0 up|down   (state in \$SLURM_LOCAL_DIR, default target/slurm-local)" >&2; exit 2 ;;
esac
