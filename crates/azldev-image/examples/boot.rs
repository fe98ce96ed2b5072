//! Boots a disk image and waits for the marker (a developer tool for the boot check):
//! `cargo run -p azldev-image --example boot -- DISK ARCH IMAGE-NAME LOG-DIR [TIMEOUT-S]`.

use std::time::Duration;

use azldev_image::boot::{self, qemu::BootCheck};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [disk, arch, name, log, rest @ ..] = args.as_slice() else {
        return Err("usage: boot DISK ARCH IMAGE-NAME LOG-DIR [TIMEOUT-S]".into());
    };
    let arch = arch.parse()?;
    let timeout = rest.first().map_or(Ok(120), |s| s.parse())?;
    let rep = BootCheck {
        disk: disk.into(),
        arch,
        marker: boot::marker(name, arch),
        timeout: Duration::from_secs(timeout),
        log_dir: log.into(),
        memory_mib: 1024,
    }
    .run()?;
    println!("{}", serde_json::to_string_pretty(&rep)?);
    Ok(())
}
