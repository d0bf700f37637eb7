#!/bin/sh
# /init of the kernel-VM guest (copied from test/kernel-vm/init.sh): mounts what `ip netns` and our executable
# need, runs the suite (driver.sh) and powers off. Everything it prints goes to the serial console, which run.sh
# reads; if it ever returns, the kernel panics and qemu exits without the T_END line, which counts as a failure.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tmpfs run /run
/bin/busybox mount -t tmpfs tmp /tmp
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
/bin/sh /kernel-vm/driver.sh
/bin/busybox poweroff -f
