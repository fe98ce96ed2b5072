//! The minimal initramfs: azldev's `/init` (a POSIX shell script), the
//! programs it runs with their ELF closure ([`super::closure`]), and the
//! kernel modules that reach the root partition with their dependencies
//! ([`super::kmod`]), all taken from the image root. Its init loads the
//! modules in order, waits for the device `root=` names (`PARTUUID=`,
//! `UUID=`, `LABEL=`, `/dev/…`; 30 s, or `rd.timeout=S`), mounts it on
//! `/sysroot` (read only unless `rw`; `rootfstype=`, `rootflags=`) and
//! `switch_root`s to `init=`.
//!
//! The live variant ([`MinimalInput::live`], the ISO's) also carries the
//! modules that reach a CD or USB medium and mount its squashfs
//! ([`LIVE_MODULES`]) and `mkdir`; its init understands
//! `root=live:LABEL=<volume id>` (also `live:CDLABEL=`, `live:UUID=`,
//! `live:/dev/…`): it probes the block devices itself with `blkid -p` (no
//! udev, no `/dev/disk/by-label`) until one carries that label (the same
//! 30 s or `rd.timeout=`), mounts it read only on `/run/azldev/live/medium`,
//! loop-mounts its `LiveOS/squashfs.img` on `/run/azldev/live/squashfs`,
//! and mounts an overlay of it with a tmpfs (`/run/azldev/live/overlay`) on
//! `/sysroot`: a writable live root (read only, the squashfs alone, when
//! overlayfs is missing). `switch_root` moves `/run`, and these mounts with
//! it, into the live root.
//!
//! Layout of the archive:
//! ```text
//! /init                         azldev's script (or the description's `[initrd] init`)
//! /etc/initrd-modules           the modules' paths, one a line, in load order
//! /usr/lib/modules/<v>/…/x.ko   the modules (decompressed)
//! /usr/…                        programs, libraries, the links to them
//! /dev/console /proc /sys /run /tmp /sysroot
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use azldev_buildroot::arch::Arch;

use super::BootError;
use super::closure::{Closure, Item};
use super::initrd::Extra;
use super::kmod::{self, ModuleIndex};
use crate::desc::InitrdConfig;
use crate::format::RootFs;

/// Where the load order is written.
pub const MODULE_LIST: &str = "etc/initrd-modules";

/// Programs azldev's init runs: (name, Debian package that has it).
pub const PROGRAMS: &[(&str, &str)] = &[
    ("sh", "dash"),
    ("mount", "mount"),
    ("insmod", "kmod"),
    ("blkid", "util-linux"),
    ("switch_root", "util-linux"),
    ("sleep", "coreutils"),
];

/// Programs the live init runs besides [`PROGRAMS`].
pub const LIVE_PROGRAMS: &[(&str, &str)] = &[("mkdir", "coreutils")];

/// Directories a program name is looked up in (in the root).
const BIN_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Modules every minimal initramfs gets (when the kernel has them as
/// modules): the virtio, SCSI-disk and NVMe block drivers VMs use, and
/// Hyper-V's VMBus and storage driver (Azure presents a vhd/vhdx disk
/// through them; on other machines VMBus finds no device and both stay
/// unloaded).
pub const DEFAULT_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_mmio",
    "virtio_blk",
    "virtio_scsi",
    "sd_mod",
    "nvme",
    "hv_vmbus",
    "hv_storvsc",
];

/// Modules the live initramfs adds (when the kernel has them as modules):
/// the ISO 9660 filesystem, loop devices, squashfs and overlayfs, and the
/// drivers a CD or a USB stick is reached through (SCSI CD-ROM; AHCI and
/// PIIX ATA, which VMs' CD drives hang off; USB mass storage behind xHCI).
pub const LIVE_MODULES: &[&str] = &[
    "sr_mod",
    "cdrom",
    "ahci",
    "ata_piix",
    "xhci_pci",
    "usb_storage",
    "uas",
    "isofs",
    "loop",
    "squashfs",
    "overlay",
];

/// The modules a root filesystem needs (and those its checksums request).
pub fn fs_modules(fs: RootFs) -> &'static [&'static str] {
    match fs {
        RootFs::Ext4 => &["ext4", "crc32c"],
        RootFs::Erofs => &["erofs"],
        RootFs::Squashfs => &["squashfs"],
    }
}

/// `rootfstype=` of a root filesystem.
pub fn fs_type(fs: RootFs) -> &'static str {
    match fs {
        RootFs::Ext4 => "ext4",
        RootFs::Erofs => "erofs",
        RootFs::Squashfs => "squashfs",
    }
}

/// Debian's multiarch directory name of an architecture.
pub fn triplet(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64-linux-gnu",
        Arch::Aarch64 => "aarch64-linux-gnu",
    }
}

/// What the minimal initramfs is made from.
#[derive(Debug, Clone)]
pub struct MinimalInput<'a> {
    pub root: &'a Path,
    pub arch: Arch,
    pub image: &'a str,
    pub kernel_version: &'a str,
    pub root_fs: RootFs,
    pub config: &'a InitrdConfig,
    /// The live variant (the ISO's): [`LIVE_MODULES`], `mkdir` and an init
    /// that boots `root=live:…`.
    pub live: bool,
}

/// The entries of a minimal initramfs.
#[derive(Debug, Clone)]
pub struct Minimal {
    pub entries: BTreeMap<String, Extra>,
    /// Module names in load order.
    pub modules: Vec<String>,
}

/// The first of `BIN_DIRS` holding `name` (links resolved inside the root:
/// Debian's `/sbin/insmod` points at `/bin/kmod`).
fn program_path(closure: &Closure<'_>, root: &Path, name: &str) -> Result<Option<String>, BootError> {
    for d in BIN_DIRS {
        let p = format!("{d}/{name}");
        if let Some((real, _)) = closure.resolve(&p)?
            && root.join(real).is_file()
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// The init script of an image (`live`: the live variant, which also
/// boots `root=live:…`).
pub fn init_script(image: &str, kernel_version: &str, live: bool) -> String {
    let (what, live_fn, live_case) = if live {
        (
            "\n# root=live:LABEL=<volume id> (also live:CDLABEL=, live:UUID=,\n\
             # live:/dev/...) names the live medium instead: the root is then its\n\
             # LiveOS/squashfs.img under a tmpfs overlay.",
            LIVE_FUNCTION,
            "    live:*) boot_live \"${root#live:}\" ;;\n",
        )
    } else {
        (
            "",
            "",
            "    live:*) die \"root=$root: a live medium needs the live initramfs (the ISO's)\" ;;\n",
        )
    };
    format!(
        r#"#!/bin/sh
# The init of the initramfs azldev wrote for image `{image}` (kernel
# {kernel_version}): it loads the kernel modules of /{MODULE_LIST} in order,
# waits for the device root= names, mounts it on /sysroot and hands over to
# init= with switch_root. Its programs come from the image root.{what}
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
say() {{ echo "azldev-initrd: $*"; }}
die() {{ say "$*"; say "cannot boot: init exits, the kernel panics"; exit 1; }}
mount -n -t proc proc /proc
mount -n -t sysfs sysfs /sys
mount -n -t devtmpfs devtmpfs /dev || die "cannot mount devtmpfs on /dev"
mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
root= init=/sbin/init fstype= flags= mode=ro timeout=30
set -f
read -r cmdline < /proc/cmdline
for w in $cmdline; do
    case $w in
        root=*) root=${{w#root=}} ;;
        init=*) init=${{w#init=}} ;;
        rootfstype=*) fstype=${{w#rootfstype=}} ;;
        rootflags=*) flags=${{w#rootflags=}} ;;
        ro) mode=ro ;;
        rw) mode=rw ;;
        rd.timeout=*)
            case ${{w#rd.timeout=}} in
                "" | *[!0-9]*) say "$w ignored: not a number of seconds" ;;
                *) timeout=${{w#rd.timeout=}} ;;
            esac ;;
    esac
done
set +f
# A module for hardware the machine lacks (crc32c-intel without SSE 4.2,
# Hyper-V's VMBus outside Hyper-V) fails with ENODEV, and the modules that
# need it with unknown symbols: one line for them all.
absent=
while read -r m; do
    [ -n "$m" ] || continue
    err=$(insmod "/$m" 2>&1) && continue
    case $err in
        *"No such device"* | *"Unknown symbol"*) n=${{m##*/}}; absent="$absent ${{n%.ko}}" ;;
        *) say "not loaded: ${{err#insmod: ERROR: }}" ;;
    esac
done < /{MODULE_LIST}
[ -z "$absent" ] || say "not loaded (no such device, or a module it needs is not loaded):$absent"
[ -n "$root" ] || die "no root= on the kernel command line"
check_init() {{
    if [ ! -e "/sysroot$init" ] && [ ! -L "/sysroot$init" ]; then
        die "init=$init is not on the root file system ($1)"
    fi
}}
{live_fn}case $root in
{live_case}esac
tries=0
dev=
while :; do
    case $root in
        /dev/*) [ -b "$root" ] && dev=$root ;;
        *=*) dev=$(blkid -c /dev/null -l -o device -t "$root" 2>/dev/null) ;;
        *) die "root=$root: expected /dev/..., PARTUUID=, UUID=, PARTLABEL= or LABEL=" ;;
    esac
    [ -n "$dev" ] && break
    tries=$((tries + 1))
    [ "$tries" -le $((timeout * 10)) ] || die "the root device $root did not appear within $timeout seconds"
    sleep 0.1
done
mount -n ${{fstype:+-t "$fstype"}} -o "$mode${{flags:+,$flags}}" "$dev" /sysroot ||
    die "cannot mount $dev ($root) on /sysroot"
check_init "$dev"
say "root $dev ($root, $mode) mounted; switching to $init"
exec switch_root /sysroot "$init"
"#
    )
}

/// The live part of the init: `boot_live SPEC` (`root=live:SPEC`) finds
/// the medium, mounts its squashfs under an overlay on /sysroot and
/// switches to init=.
const LIVE_FUNCTION: &str = r#"# The first block device (whole disks first, then partitions) whose blkid
# probe has the line $1 (LABEL=..., UUID=...).
find_medium() {
    for pass in disk part; do
        for b in /sys/class/block/*; do
            n=${b##*/}
            case $n in loop* | ram* | zram*) continue ;; esac
            if [ -e "$b/partition" ]; then
                [ $pass = part ] || continue
            else
                [ $pass = disk ] || continue
            fi
            [ -b "/dev/$n" ] || continue
            tags=$(blkid -p -o export "/dev/$n" 2>/dev/null) || continue
            case "
$tags
" in *"
$1
"*) echo "/dev/$n"; return 0 ;; esac
        done
    done
    return 1
}
boot_live() {
    case $1 in
        /dev/*) want= ;;
        CDLABEL=*) want="LABEL=${1#CDLABEL=}" ;;
        LABEL=* | UUID=*) want=$1 ;;
        *) die "root=live:$1: expected live:LABEL=, live:CDLABEL=, live:UUID= or live:/dev/..." ;;
    esac
    tries=0
    dev=
    while :; do
        if [ -z "$want" ]; then
            [ -b "$1" ] && dev=$1
        else
            dev=$(find_medium "$want")
        fi
        [ -n "$dev" ] && break
        tries=$((tries + 1))
        [ "$tries" -le $((timeout * 10)) ] || die "no live medium with $1 appeared within $timeout seconds"
        sleep 0.1
    done
    live=/run/azldev/live
    mkdir -p $live/medium $live/squashfs $live/overlay || die "cannot create $live"
    mount -n -o ro "$dev" $live/medium ||
        die "cannot mount the live medium $dev ($1)"
    img=$live/medium/LiveOS/squashfs.img
    [ -f $img ] || die "the live medium $dev ($1) has no /LiveOS/squashfs.img"
    mount -n -t squashfs -o ro,loop $img $live/squashfs ||
        die "cannot mount $img (squashfs, on a loop device)"
    mount -n -t tmpfs -o mode=0755 tmpfs $live/overlay &&
        mkdir $live/overlay/upper $live/overlay/work ||
        die "cannot make the overlay's tmpfs on $live/overlay"
    if mount -n -t overlay -o "lowerdir=$live/squashfs,upperdir=$live/overlay/upper,workdir=$live/overlay/work" \
        overlay /sysroot; then
        how="overlay of the squashfs and a tmpfs, rw"
        # switch_root moves /run (with these mounts) there.
        [ -d /sysroot/run ] || mkdir /sysroot/run
    else
        say "no overlayfs: the live root is the squashfs alone, read only"
        mount -n --bind $live/squashfs /sysroot || die "cannot bind $live/squashfs on /sysroot"
        how="squashfs, ro"
    fi
    check_init "$dev:/LiveOS/squashfs.img"
    say "live root $dev ($1): /LiveOS/squashfs.img mounted ($how); switching to $init"
    exec switch_root /sysroot "$init"
}
"#;

/// The entries of the minimal initramfs of `input`.
pub fn plan(input: &MinimalInput<'_>) -> Result<Minimal, BootError> {
    let root = input.root;
    let cfg = input.config;
    let mut closure = Closure::new(root, triplet(input.arch));
    let mut entries = BTreeMap::new();
    match &cfg.init {
        None => {
            let live: &[(&str, &str)] = if input.live { LIVE_PROGRAMS } else { &[] };
            for (name, package) in PROGRAMS.iter().chain(live) {
                let Some(p) = program_path(&closure, root, name)? else {
                    return Err(BootError::NotInRoot {
                        path: format!("{name} (package {package})"),
                        needed_by: "azldev's initramfs init".to_owned(),
                        root: root.to_owned(),
                    });
                };
                closure.add_program(&p, "azldev's initramfs init")?;
            }
            // The script's `#!` interpreter, with its links (`/bin` → `usr/bin`).
            closure.add_program("/bin/sh", "azldev's initramfs init")?;
            entries.insert(
                "init".to_owned(),
                Extra::File {
                    mode: 0o755,
                    data: init_script(input.image, input.kernel_version, input.live).into_bytes(),
                },
            );
        }
        Some(init) => {
            let real = closure.add_file(init, "[initrd] init")?;
            closure.add_program(init, "[initrd] init")?;
            entries.insert(
                "init".to_owned(),
                Extra::Host {
                    path: root.join(real),
                },
            );
        }
    }
    for p in &cfg.programs {
        closure.add_program(p, "[initrd] programs")?;
    }
    // The loader's cache, when the root has one, finds libraries outside
    // the loader's own directories.
    if root.join("etc/ld.so.cache").is_file() {
        closure.add_file("/etc/ld.so.cache", "the dynamic loader")?;
    }
    for (path, item) in &closure.items {
        let e = match item {
            Item::File => Extra::Host {
                path: root.join(path),
            },
            Item::Symlink(t) => Extra::Symlink { target: t.clone() },
        };
        entries.insert(path.clone(), e);
    }

    let index = ModuleIndex::read(root, input.kernel_version)?;
    let live: &[&str] = if input.live { LIVE_MODULES } else { &[] };
    let mut wanted: Vec<(String, bool)> = DEFAULT_MODULES
        .iter()
        .chain(fs_modules(input.root_fs))
        .chain(live)
        .map(|m| ((*m).to_owned(), false))
        .collect();
    wanted.extend(cfg.modules.iter().map(|m| (m.clone(), true)));
    let modules = index.resolve(&wanted)?;
    let mut list = String::new();
    for m in &modules {
        let rel = index.path(m).ok_or_else(|| BootError::Module {
            message: format!("kernel module `{m}` has no file"),
        })?;
        let plain = ["xz", "zst", "gz"]
            .iter()
            .find_map(|ext| rel.strip_suffix(&format!(".{ext}")))
            .unwrap_or(rel)
            .to_owned();
        if plain == rel {
            entries.insert(plain.clone(), Extra::Host { path: root.join(rel) });
        } else {
            entries.insert(
                plain.clone(),
                Extra::File {
                    mode: 0o644,
                    data: kmod::read_module(&root.join(rel))?,
                },
            );
        }
        list.push_str(&plain);
        list.push('\n');
    }
    entries.insert(
        MODULE_LIST.to_owned(),
        Extra::File {
            mode: 0o644,
            data: list.into_bytes(),
        },
    );
    entries.insert("sysroot".to_owned(), Extra::Dir { mode: 0o755 });
    Ok(Minimal { entries, modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_script_is_valid_shell() {
        for live in [false, true] {
            script_is_valid_shell(live);
        }
    }

    fn script_is_valid_shell(live: bool) {
        let s = init_script("vm", "6.1.0-9-amd64", live);
        assert!(s.starts_with("#!/bin/sh\n"));
        assert_eq!(s.contains("boot_live()"), live);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("init");
        std::fs::write(&p, &s).expect("write");
        for sh in ["sh", "dash", "bash"] {
            if !azldev_buildroot::run::have(sh) {
                continue;
            }
            let out = std::process::Command::new(sh)
                .arg("-n")
                .arg(&p)
                .output()
                .expect("runs");
            assert!(
                out.status.success(),
                "{sh}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(s.contains("< /etc/initrd-modules"));
        assert!(s.contains("exec switch_root /sysroot \"$init\""));
    }
}
