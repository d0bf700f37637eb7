# The helper API of the in-guest suite (test/kernel-vm/lib.sh), sourced by driver.sh; busybox ash, no bash-isms.
# README.md lists it; a case file is sourced in a subshell with these in scope:
#   CASE      the case's name (its file name without .sh); every check is reported as CASE/NAME
#   HOSTNS    a fresh netns the plugins run in, as a runtime's host; deleted after the case
#   CASE_DIR  an empty directory for the case's state (an IPAM dataDir, saved results)
#   CNI_OUT   a file holding the stdout of the last `cni` call
# Call /usr/sbin/ip and /usr/sbin/bridge by absolute path: busybox ash runs its own `ip` applet before PATH.
# The functions below route a bare `ip`/`tc` to iproute2 in the case's own shell, but not inside `sh -c '…'`.

T_TMP=/tmp/kernel-vm
T_RESULTS=$T_TMP/results
CNI_OUT=$T_TMP/cni.out
mkdir -p "$T_TMP"
: >"$T_RESULTS"

ip() { /usr/sbin/ip "$@"; }
tc() { /usr/sbin/tc "$@"; }

# t NAME CMD [ARG...]: runs CMD; prints `PASS CASE/NAME`, or `FAIL CASE/NAME (exit N)` and CMD's output (stdout
# and stderr, last 40 lines) as `| ` lines. Returns CMD's status, so `t … || return 0` skips what depends on it.
t() {
  local name=$1 rc
  shift
  "$@" >"$T_TMP/t.out" 2>&1 </dev/null
  rc=$?
  if [ "$rc" = 0 ]; then
    echo "PASS $CASE/$name"
    echo PASS >>"$T_RESULTS"
  else
    echo "FAIL $CASE/$name (exit $rc)"
    tail -n 40 "$T_TMP/t.out" | awk '{ print "| " $0 }'      # awk ends a last line that lacks its newline
    echo FAIL >>"$T_RESULTS"
  fi
  return "$rc"
}

# eq WANT GOT: succeeds when the two strings are equal, else prints both.
eq() {
  [ "$1" = "$2" ] && return 0
  echo "want: $1"
  echo " got: $2"
  return 1
}

# fails CMD [ARG...]: succeeds when CMD fails (a negative check).
fails() {
  if "$@"; then echo "succeeded, but should have failed: $*"; return 1; fi
  return 0
}

# wait_until SECONDS CMD [ARG...]: retries CMD every 0.1 s until it succeeds or the deadline passes.
wait_until() {
  local tries=$(($1 * 10))
  shift
  while ! "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || { "$@"; return 1; }
    usleep 100000
  done
}

# netns_add ROLE: creates the netns CASE-ROLE and prints its name; the driver deletes it after the case.
netns_add() {
  /usr/sbin/ip netns add "$CASE-$1" && echo "$CASE-$1"
}

# in_ns NETNS CMD [ARG...]: runs CMD inside NETNS (a name under /run/netns).
in_ns() {
  local ns=$1
  shift
  /usr/sbin/ip netns exec "$ns" "$@"
}

# ipj NETNS ARG...: prints `ip -j ARG...` run for NETNS, e.g. `ipj "$ctr" -d link show eth0`.
# iproute2 6.1 prints `{}` for every link a `type X` filter drops, so count fields (jcount ifname), not elements.
ipj() {
  local ns=$1
  shift
  /usr/sbin/ip -n "$ns" -j "$@"
}

# jget KEY [N]: prints the Nth (default first) scalar value of "KEY" in the JSON on stdin, strings unquoted.
# A pattern match, not a parser: good for plugin results and `ip -j`, where keys and scalars are on one line.
jget() {
  grep -o -E "\"$1\": *(\"([^\"\\\\]|\\\\.)*\"|[^],} ]+)" | sed -n "${2:-1}p" | sed -E 's/^"[^"]*": *//; s/^"(.*)"$/\1/'
}

# jcount KEY: prints how many times "KEY" occurs in the JSON on stdin.
jcount() {
  grep -o "\"$1\":" | wc -l
}

# with_prev CONF RESULT: prints the network config CONF (a JSON object) with "prevResult": RESULT added.
with_prev() {
  printf '%s,"prevResult":%s}' "${1%\}}" "$2"
}

# cni VERB PLUGIN CONTAINER_NETNS IFNAME CONFIG_JSON: runs /bin/PLUGIN as a runtime does: inside HOSTNS, the
# CNI_* env set, CONFIG_JSON on stdin, CNI_PATH=/bin (our links, so delegates are ours). CONTAINER_NETNS is a
# netns name or a path ("" for none). Prints the plugin's stdout, also kept in $CNI_OUT, and returns its status;
# stderr passes through. Honours CID (CNI_CONTAINERID, default ctr1), CNI_ARGS and CNI_TIMEOUT (default 60 s).
cni() {
  local verb=$1 plugin=$2 netns=$3 ifname=$4 conf=$5 rc
  case $netns in
    /* | "") ;;
    *) netns=/run/netns/$netns ;;
  esac
  (
    export CNI_COMMAND="$verb" CNI_CONTAINERID="${CID:-ctr1}" CNI_NETNS="$netns" CNI_IFNAME="$ifname" CNI_PATH=/bin
    [ -n "${CNI_ARGS:-}" ] && export CNI_ARGS
    printf '%s' "$conf" | timeout "${CNI_TIMEOUT:-60}" /usr/sbin/ip netns exec "$HOSTNS" "/bin/$plugin"
  ) >"$CNI_OUT"
  rc=$?
  cat "$CNI_OUT"
  return "$rc"
}

# ---------- used by driver.sh ----------

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# run_case FILE: sources FILE in a subshell with a fresh HOSTNS and CASE_DIR, then deletes every CASE-* netns.
# A case that exits (instead of returning) or dies on a syntax error gets a FAIL carrying the case's last stderr
# lines, as does one with no checks. The case's stderr still reaches the console too (tee).
run_case() {
  local start before ns
  CASE=$(basename "$1" .sh)
  HOSTNS=$CASE-host
  CASE_DIR=$T_TMP/$CASE
  mkdir -p "$CASE_DIR"
  start=$(uptime_s)
  before=$(wc -l <"$T_RESULTS")
  rm -f "$T_TMP/done"
  /usr/sbin/ip netns add "$HOSTNS"
  {
    (
      . "$1"
      : >"$T_TMP/done"
    ) 2>&1 1>&3 | tee "$T_TMP/case.err"
  } 3>&1
  [ -f "$T_TMP/done" ] || t "case ran to its end" case_stderr
  [ "$(wc -l <"$T_RESULTS")" -gt "$before" ] || t "case made checks" false
  for ns in /run/netns/"$CASE"-*; do
    [ -e "$ns" ] && /usr/sbin/ip netns delete "$(basename "$ns")"
  done
  echo "INFO $CASE took $(awk -v a="$start" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }') s"
}

# case_stderr: prints the last stderr lines of the case that just ran, and fails.
case_stderr() {
  echo "the case stopped early (it called exit, or the shell hit an error); its last stderr lines:"
  tail -n 20 "$T_TMP/case.err"
  return 1
}

# t_end: prints the sentinel run.sh and kernel-vm.test.ts look for.
t_end() {
  echo "T_END pass=$(grep -c PASS "$T_RESULTS") fail=$(grep -c FAIL "$T_RESULTS")"
}
