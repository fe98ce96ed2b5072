//! Timed load of a distro configuration, for `cargo xtask bench config`:
//!
//! ```text
//! cargo run --release -p azldev-config --example bench_config -- [ROOT_FILE] [ITERATIONS]
//! ```
//!
//! ROOT_FILE defaults to the Azure Linux 4.0 corpus (`../shared/corpus/azl4/azldev.toml`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let root = args.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/azl4/azldev.toml"),
        PathBuf::from,
    );
    let iterations = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    match azldev_config::bench::load_timed(&root, iterations) {
        Ok(r) => {
            println!(
                "config load {}: best {:.1} ms, median {:.1} ms over {} runs; {} files, {} components, {} overlays, {} errors",
                root.display(),
                r.best().as_secs_f64() * 1000.0,
                r.median().as_secs_f64() * 1000.0,
                r.times.len(),
                r.files,
                r.components,
                r.overlays,
                r.errors
            );
            if r.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
