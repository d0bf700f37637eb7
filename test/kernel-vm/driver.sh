#!/bin/sh
# The in-guest test driver (test/kernel-vm/driver.sh): boot checks, then every cases/*.sh in name order, each in
# its own subshell with its own throwaway netns (lib.sh), then the sentinel `T_END pass=N fail=M`.
. /kernel-vm/lib.sh

CASE=boot
echo "T_BOOT $(uname -r) cpus=$(nproc)"
for m in $(cat /kernel-vm/modules); do t "modprobe $m" modprobe "$m"; done
# The first exec of the 110 MB executable is the slow one (about 1 s under TCG); it also proves -cpu max suffices.
t "our executable runs (VERSION)" eq '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}' \
  "$(CNI_COMMAND=VERSION /bin/loopback </dev/null 2>&1 | tr -d ' \n')"

for f in /kernel-vm/cases/*.sh; do run_case "$f"; done
t_end
