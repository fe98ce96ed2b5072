#!/bin/sh
# The boot program of Demo Linux's demo-vm image: the first process the
# kernel starts (rdinit=). It runs a demo program built by `azldev build`,
# prints the boot check's marker on the console and powers the machine off.
export PATH=/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "demo-vm: Linux $(uname -r) on $(uname -m)"
if hello; then
    echo "AZLDEV-BOOT-OK demo-vm $(uname -m)"
else
    echo "demo-vm: hello failed ($?)"
fi
# Power off now (no service manager to stop): sync, then sysrq `o`.
sync
echo o > /proc/sysrq-trigger
sleep 30
