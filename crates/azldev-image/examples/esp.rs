//! Writes the ESP tree of an image root (a developer tool for the boot path):
//! `cargo run -p azldev-image --example esp -- ROOT NAME ARCH INIT OUT [INIT-FILE]`.
//! With INIT-FILE, that file is added to the initramfs as INIT.

use std::collections::BTreeMap;
use std::path::Path;

use azldev_image::boot::esp::{self, EspInput};
use azldev_image::boot::initrd::Extra;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, name, arch, init, out, rest @ ..] = args.as_slice() else {
        return Err("usage: esp ROOT NAME ARCH INIT OUT [INIT-FILE]".into());
    };
    let mut extra = BTreeMap::new();
    if let Some(file) = rest.first() {
        extra.insert(
            init.trim_start_matches('/').to_owned(),
            Extra::File {
                mode: 0o755,
                data: std::fs::read(file)?,
            },
        );
    }
    let rep = esp::write(
        &EspInput {
            root: Path::new(root),
            name,
            arch: arch.parse()?,
            cmdline: "",
            init,
            extra,
            source_date_epoch: 0,
        },
        Path::new(out),
    )?;
    println!("{}", serde_json::to_string_pretty(&rep)?);
    Ok(())
}
