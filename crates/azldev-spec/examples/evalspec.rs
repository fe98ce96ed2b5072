//! Evaluate one spec with the host's rpm macro files and print the facts
//! (a debugging aid: `cargo run -p azldev-spec --example evalspec -- FILE [ARCH]`).

use std::path::Path;

use azldev_spec::eval::{MacroContext, evaluate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(file) = args.get(1) else {
        eprintln!("usage: evalspec FILE [ARCH]");
        std::process::exit(2);
    };
    let arch = args.get(2).map_or("x86_64", String::as_str);
    let mut ctx = MacroContext::for_target(arch);
    let lib = Path::new("/usr/lib/rpm");
    let mut files = vec![lib.join("macros")];
    for d in ["macros.d", "fileattrs"] {
        let mut v: Vec<_> = std::fs::read_dir(lib.join(d))
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.sort();
        if d == "fileattrs" {
            files.push(lib.join(format!("platform/{arch}-linux/macros")));
        }
        files.extend(v);
    }
    for f in files {
        if let Ok(b) = std::fs::read(&f) {
            ctx.load_file(&f.to_string_lossy(), &b);
        }
    }
    let path = Path::new(file);
    ctx.define(
        "_sourcedir",
        &path
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{file}: {e}");
            std::process::exit(2);
        }
    };
    let ev = evaluate(&bytes, &ctx, arch);
    println!("{:#?}", ev);
}
