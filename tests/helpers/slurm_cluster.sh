#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A single-node Slurm cluster for one test: munged, slurmctld and slurmd (Debian's slurm-wlm and
# munge) started on localhost with their state, sockets, keys and logs under WORK, then COMMAND
# run with SLURM_CONF pointing at it, then every daemon stopped. Run it inside a network
# namespace of its own (`unshare -n`, loopback only) so the daemons' ports face nothing else.
# Usage: slurm_cluster.sh WORK COMMAND [ARGS...]; exit status: COMMAND's, or 90 when the cluster
# did not come up (the daemons' logs are printed).
set -uo pipefail
work="$1"; shift
mkdir -p "$work"/{munge,spool,state,log}
chmod 700 "$work/munge"
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap stop EXIT
fail() {
  echo "slurm_cluster: $1" >&2
  for f in "$work"/log/*; do echo "--- $f" >&2; tail -20 "$f" >&2; done
  exit 90
}
mungekey -c -k "$work/munge/munge.key" -f >/dev/null 2>&1 || fail "mungekey failed"
munged --force --key-file "$work/munge/munge.key" --socket "$work/munge/munge.socket" \
  --pid-file "$work/munge/munged.pid" --log-file "$work/log/munged.log" --seed-file "$work/munge/seed" \
  || fail "munged did not start"
pids+=("$(cat "$work/munge/munged.pid")")
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat > "$work/slurm.conf" <<CONF
ClusterName=mprotonet-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >>"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >>"$work/log/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 1 120); do
  if sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then up=1; break; fi
  sleep 0.5
done
[ "$up" = 1 ] || fail "the node did not become idle within 60 s ($(sinfo -h -o %T 2>&1))"
"$@"
