//! Process a package in a git repository as `rpmautospec process-distgit`
//! would, natively, and print the result or time it.
//!
//! ```text
//! cargo run --release -p azldev-autospec --example autospec -- REPO SPEC_NAME
//!     [--rev REV] [--dir DIR] [--version V] [--runs N] [--print]
//! ```
//!
//! Without `--print`, prints one line of timings (used by `cargo xtask bench
//! autospec`).

use std::time::Instant;

use azldev_autospec::{Options, Package, process};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let positional: Vec<&String> = {
        let mut out = Vec::new();
        let mut skip = false;
        for a in &args {
            if skip {
                skip = false;
            } else if a == "--print" {
            } else if a.starts_with("--") {
                skip = true;
            } else {
                out.push(a);
            }
        }
        out
    };
    let [repo_path, spec_name] = positional.as_slice() else {
        return Err(
            "usage: autospec REPO SPEC_NAME [--rev REV] [--dir DIR] [--version V] [--runs N] [--print]"
                .into(),
        );
    };
    let repo = gix::open(repo_path.as_str()).map_err(|e| e.to_string())?;
    let rev = flag("--rev").unwrap_or_else(|| "HEAD".into());
    let head = repo
        .rev_parse_single(rev.as_str())
        .map_err(|e| e.to_string())?
        .detach();
    let dir = flag("--dir").unwrap_or_default();
    let pkg = Package { dir: &dir, spec_name };
    let mut opts = Options::default();
    if let Some(v) = flag("--version") {
        opts.rpmautospec_version = v;
    }
    let runs: usize = flag("--runs")
        .map_or(Ok(1), |r| r.parse())
        .map_err(|e| format!("--runs: {e}"))?;
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let done = process(&repo, head, pkg, &opts).map_err(|e| e.to_string())?;
        times.push(t.elapsed());
        last = Some(done);
    }
    let done = last.flatten();
    if args.iter().any(|a| a == "--print") {
        use std::io::Write;
        if let Some(d) = &done {
            std::io::stdout().write_all(&d.spec).map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    times.sort();
    let median = times[times.len() / 2];
    let best = times[0];
    match &done {
        Some(d) => println!(
            "{} commits, {} processed, release {} ({}), {} changelog entries: best {:.1} ms, median {:.1} ms over {} runs",
            d.history.commits,
            d.history.processed,
            d.history.release_number,
            d.history.release,
            d.history.entries.len(),
            best.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            times.len()
        ),
        None => println!("nothing to process"),
    }
    Ok(())
}
