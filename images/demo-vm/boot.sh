#!/bin/sh
# The boot program of Demo Linux's demo-vm image: the init (init=) the
# initramfs switches to once the disk's root partition is mounted. It shows
# where / comes from, runs a demo program built by `azldev build`, prints
# the boot check's marker on the console and powers the machine off.
export PATH=/usr/sbin:/usr/bin
# The initramfs moved /proc, /sys and /dev here; mount them when it did not.
[ -r /proc/mounts ] || mount -t proc proc /proc
[ -d /sys/kernel ] || mount -t sysfs sysfs /sys
echo "demo-vm: Linux $(uname -r) on $(uname -m)"
while read -r src dir fstype opts rest; do
    [ "$dir" = / ] && root="$src $fstype $opts"
    # A live ISO's medium and the squashfs under the overlay.
    case $fstype in
        iso9660 | squashfs) echo "demo-vm: $src $fstype on $dir" ;;
    esac
done < /proc/mounts
echo "demo-vm: / is $root"
case $root in
    *" rw,"*) : > /.demo-vm-written && echo "demo-vm: / is writable" ;;
esac
if hello; then
    echo "AZLDEV-BOOT-OK demo-vm $(uname -m)"
else
    echo "demo-vm: hello failed ($?)"
fi
# Power off now (no service manager to stop): sync, then sysrq `o`.
sync
echo o > /proc/sysrq-trigger
sleep 30
