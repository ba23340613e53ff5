#!/bin/sh
# The collector image's entrypoint: node's flags from the container's own memory limit, then exec
# node (tini stays PID 1), so `docker run -m 128m` of the image alone gets them, not V8's defaults.
# The rule is launchFlags (and launchEnv for malloc), and the limit is read as readMemoryLimit
# reads it (src/runtime/memory-sizing.ts, memory-limit.ts); test/deploy/launch.test.ts runs this
# file over fixture cgroup files and compares the two. A shell, not the bin re-reading its limit: node cannot exec
# itself again, and a parent node waiting on a child would cost the memory the flags save; this
# costs one sh for a few milliseconds. The flags go first in NODE_OPTIONS, so flags an operator
# sets there still win (V8 takes the last of a flag); the compiler flags, which node refuses in
# NODE_OPTIONS, go on its command line.
set -eu

# EDGE_TELEMETRY_LAUNCH_ROOT prefixes /proc/self/cgroup and /sys/fs/cgroup (tests only).
prefix=${EDGE_TELEMETRY_LAUNCH_ROOT:-}
mib=1048576

# A limit file's bytes, or nothing: `max` (v2), v1's page-counter maximum (~2^63: sixteen digits
# and more are no limit, so the shell's arithmetic never overflows), 0 and non-numbers are none.
limit_of() {
  [ -r "$1" ] || return 0
  v=$(cat "$1")
  case $v in '' | *[!0-9]*) return 0 ;; esac
  if [ ${#v} -le 15 ] && [ "$v" -gt 0 ]; then echo "$v"; fi
}

# The smallest limit in file $3 at $1$2 and each ancestor up to $1. Inside a container the path
# in /proc/self/cgroup may be the host's while the container sees only its own cgroup at the
# mount root: the walk ends there, so the root's file is then the limit.
smallest() {
  best=
  dir=${1}${2%/}
  while :; do
    n=$(limit_of "$dir/$3")
    if [ -n "$n" ] && { [ -z "$best" ] || [ "$n" -lt "$best" ]; }; then best=$n; fi
    [ "$dir" = "$1" ] && break
    dir=${dir%/*}
    case $dir in "$1"*) ;; *) break ;; esac
  done
  echo "$best"
}

# The limit of the cgroup this process is in, as readMemoryLimit finds it.
cgroup_limit() {
  [ -r "$prefix/proc/self/cgroup" ] || return 0
  v1= v2=
  while IFS=: read -r id controllers path; do
    case ",$controllers," in *,memory,*) v1=${path:-/} ;; esac
    if [ "$id" = 0 ] && [ -z "$controllers" ]; then v2=${path:-/}; fi
  done <"$prefix/proc/self/cgroup"
  # A hybrid host lists both; the memory controller is where v1 has it.
  if [ -n "$v1" ]; then
    smallest "$prefix/sys/fs/cgroup/memory" "$v1" memory.limit_in_bytes
  elif [ -n "$v2" ]; then
    smallest "$prefix/sys/fs/cgroup" "$v2" memory.max
  fi
}

# The collector's memory.limitBytes in its environment form decides first, as it does for the
# collector's own sizing (0 or unset: the cgroup's, -1: none). A deployment that mounts the host's
# /sys/fs/cgroup over the container's own (compose.edge.yml, the K3s DaemonSet) needs it on
# cgroup v2, where /proc/self/cgroup says `0::/` in the container's cgroup namespace.
given=${EDGE_TELEMETRY_COLLECTOR_MEMORY_LIMIT_BYTES:-0}
case $given in
  -[0-9]*) limit= ;;
  '' | *[!0-9]*) limit=$(cgroup_limit) ;; # not a number: the collector itself refuses it
  *)
    if [ ${#given} -gt 15 ]; then
      limit= # bytes beyond any gateway: as good as none
    elif [ "$given" -gt 0 ]; then
      limit=$given
    else
      limit=$(cgroup_limit)
    fi
    ;;
esac

flags=
args=
if [ -n "$limit" ]; then
  if [ "$limit" -lt $((128 * mib)) ]; then
    flags="--max-old-space-size=$((limit / 2 / mib)) --max-semi-space-size=1 --v8-pool-size=1"
  elif [ "$limit" -eq $((128 * mib)) ]; then
    # YOUNG_GENERATION_FLAGS: half as many scavenges, ~4 % less CPU per line for ~2-3 MiB.
    flags="--max-semi-space-size=2 --v8-pool-size=1"
  fi
  # COMPILER_FLAGS: node refuses them in NODE_OPTIONS, so they go on its command line.
  if [ "$limit" -le $((128 * mib)) ]; then args="--no-concurrent-recompilation --interrupt-budget=135168"; fi
fi
if [ -n "$flags" ]; then
  NODE_OPTIONS="$flags${NODE_OPTIONS:+ $NODE_OPTIONS}"
  export NODE_OPTIONS
  # launchEnv: fixed malloc thresholds wherever there are launch flags; an operator's own win.
  : "${MALLOC_MMAP_THRESHOLD_:=65536}" "${MALLOC_TRIM_THRESHOLD_:=131072}"
  export MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_
fi
# $args unquoted: a list of flags without spaces, or nothing.
# shellcheck disable=SC2086
exec node $args "$(dirname "$0")/collector.js" "$@"
