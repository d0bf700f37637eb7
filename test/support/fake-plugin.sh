#!/bin/sh
# test/support/fake-plugin.sh: a stand-in CNI plugin for libcni tests (ours and the Go capture in go-libcni/). Linked
# as <dir>/<type>, it records every call in $FAKE_DIR/log/NNN-<type>-<COMMAND>.{stdin,env} and answers from files:
#   $FAKE_DIR/fail-<type>-<COMMAND>.json  printed with exit status 1 (a CNI error object)
#   $FAKE_DIR/result-<type>.json           printed for ADD (else an empty 1.1.0 result)
#   $FAKE_DIR/versions-<type>.json         printed for VERSION (else every version up to 1.1.0)
set -eu
type=$(basename "$0")
dir=${FAKE_DIR:?FAKE_DIR must name the state directory of the fake plugins}
mkdir -p "$dir/log"
n=$(ls "$dir/log" | grep -c '\.stdin$' || true)
base=$(printf '%s/log/%03d-%s-%s' "$dir" "$n" "$type" "${CNI_COMMAND:-}")
cat >"$base.stdin"
: >"$base.env"
for v in CNI_COMMAND CNI_CONTAINERID CNI_NETNS CNI_IFNAME CNI_ARGS CNI_PATH TRACEPARENT TRACESTATE BAGGAGE; do
  if val=$(printenv "$v"); then printf '%s=%s\n' "$v" "$val" >>"$base.env"; fi
done
if [ -f "$dir/fail-$type-${CNI_COMMAND:-}.json" ]; then
  cat "$dir/fail-$type-$CNI_COMMAND.json"
  exit 1
fi
case "${CNI_COMMAND:-}" in
  VERSION)
    if [ -f "$dir/versions-$type.json" ]; then cat "$dir/versions-$type.json"
    else printf '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n'; fi ;;
  ADD)
    if [ -f "$dir/result-$type.json" ]; then cat "$dir/result-$type.json"; else printf '{"cniVersion":"1.1.0"}'; fi ;;
esac
