//! The boot path of disk images (the EFI system partition's tree: boot loader,
//! kernel, initrd, loader entries) and boot checks under qemu-system.
