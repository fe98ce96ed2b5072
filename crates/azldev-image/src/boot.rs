//! The boot path of disk images (ESP contents: boot loader, kernel, initrd) and boot checks under qemu-system.
