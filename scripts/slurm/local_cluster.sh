#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to try the sbatch files and their preemption path without a cluster
# (tests/test_slurm.py uses it). Needs root and Debian's packages: apt-get install -y slurmd slurmctld munge.
#   bash scripts/slurm/local_cluster.sh start DIR   # config, state and logs in DIR; prints "export SLURM_CONF=..."
#   bash scripts/slurm/local_cluster.sh stop DIR
set -euo pipefail
usage() { echo "usage: bash scripts/slurm/local_cluster.sh start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
conf=$dir/slurm.conf

stop() {
    for name in slurmd slurmctld munged; do
        if [ -f "$dir/$name.pid" ]; then
            kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
            rm -f "$dir/$name.pid"
        fi
    done
}

start() {
    for bin in munged slurmctld slurmd sbatch scontrol; do
        command -v "$bin" >/dev/null || { echo "error: $bin not found: apt-get install -y slurmd slurmctld munge" >&2; exit 3; }
    done
    [ "$(id -u)" = 0 ] || { echo "error: the local cluster runs its daemons as root: run as root" >&2; exit 3; }
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
    if [ ! -f /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        chmod 400 /etc/munge/munge.key
    fi
    cat >"$conf" <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    munged --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
        --seed-file="$dir/munge/munge.seed" --force
    slurmctld -f "$conf"
    slurmd -f "$conf"
    export SLURM_CONF=$conf
    for _ in $(seq 60); do
        if sinfo -h -o %t 2>/dev/null | grep -q idle; then
            echo "export SLURM_CONF=$conf"
            return
        fi
        sleep 1
    done
    echo "error: the local node did not come up: see $dir/slurmctld.log and $dir/slurmd.log" >&2
    stop
    exit 1
}

case $action in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
