//! Isolated per-build layers: a fresh overlayfs over a base root in a
//! private mount namespace, extra packages installed into it by the host's
//! dnf, and commands run inside with bubblewrap — their own pid, ipc, uts
//! and network namespaces (only `lo`), a minimal /dev and /proc, nothing of
//! the host but what is bound in on purpose.
//!
//! How it is held together, and why a kill leaves nothing behind:
//! - a *holder* (`unshare --mount --propagation private sh`) mounts the
//!   overlay in its own mount namespace and then waits for EOF on its
//!   stdin, a pipe only this process holds. When the `Layer` is dropped, or
//!   azldev dies however it dies, the pipe closes, the holder exits, the
//!   namespace dies and the kernel unmounts the overlay; it was never
//!   visible on the host;
//! - every command enters that namespace with `nsenter` under
//!   `setpriv --pdeathsig KILL` (bubblewrap adds `--die-with-parent`), so
//!   nothing outlives azldev;
//! - the layer's directory (upper, work) lives under
//!   `<cache>/buildroot/layers/<id>/` with `<id>.lock` held for its life;
//!   the next layer created sweeps directories whose lock is free.
//!
//! The base root is only ever a lower layer: it stays byte-for-byte
//! unchanged, whatever runs in the layer.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::arch::Arch;
use crate::base::{BaseRoot, BaseSpec, BuildrootError, RepoSpec, io_err, is_root};
use crate::run::{Output, RunError, Runner};

/// A host directory made visible inside the layer.
#[derive(Debug, Clone)]
pub struct Bind {
    pub host: PathBuf,
    /// Absolute path inside the layer.
    pub inside: String,
    pub writable: bool,
}

/// How to run one command in a layer.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub binds: Vec<Bind>,
    /// Working directory inside (default `/`).
    pub cwd: Option<String>,
    /// Extra environment (the environment is otherwise cleared to a fixed
    /// PATH, HOME=/builddir, LANG=C.UTF-8, TERM).
    pub env: Vec<(String, String)>,
    pub log: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Inherit the terminal (stdin/stdout/stderr) instead of capturing.
    pub interactive: bool,
    /// Allow the network (never for builds; for diagnostics only).
    pub network: bool,
}

/// A live layer over a base root.
#[derive(Debug)]
pub struct Layer {
    id: String,
    dir: PathBuf,
    holder: Child,
    holder_stdin: Option<ChildStdin>,
    base: BaseRoot,
    _lock: File,
    _base_lock: File,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn check_tools() -> Result<(), BuildrootError> {
    for (tool, package) in [
        ("unshare", "util-linux"),
        ("nsenter", "util-linux"),
        ("setpriv", "util-linux"),
        ("bwrap", "bubblewrap"),
    ] {
        if !crate::run::have(tool) {
            return Err(BuildrootError::MissingTool { tool, package });
        }
    }
    Ok(())
}

impl Layer {
    /// A fresh layer over `base`, its directory under `layers_dir`
    /// (`<cache>/buildroot/layers`).
    pub fn new(base: &BaseRoot, layers_dir: &Path) -> Result<Layer, BuildrootError> {
        if !is_root() {
            return Err(BuildrootError::NotRoot {
                what: "an isolated build layer".into(),
            });
        }
        check_tools()?;
        ensure_emulation(base.arch)?;
        fs::create_dir_all(layers_dir).map_err(io_err(format!("create {}", layers_dir.display())))?;
        sweep(layers_dir);
        let base_lock = File::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(base.lock_path())
            .map_err(io_err("open the base root lock"))?;
        base_lock.lock_shared().map_err(io_err("lock the base root"))?;
        let id = format!(
            "{}-{}-{}",
            base.arch,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let lock =
            File::create(layers_dir.join(format!("{id}.lock"))).map_err(io_err("create the layer lock"))?;
        lock.lock().map_err(io_err("lock the layer"))?;
        let dir = layers_dir.join(&id);
        let _ = fs::remove_dir_all(&dir);
        for sub in ["upper", "work", "merged"] {
            fs::create_dir_all(dir.join(sub))
                .map_err(io_err(format!("create {}", dir.join(sub).display())))?;
        }
        // `volatile`: the layer is thrown away, so its upper directory is
        // never synced (without it, the unmount syncs the whole filesystem
        // the cache is on: a tenth of a second per build on a busy disk).
        let script = format!(
            "mount -t overlay azldev-layer -o lowerdir={},upperdir={},workdir={},volatile {} || exit 1\necho ready\nread _ignored\nexit 0\n",
            base.root().display(),
            dir.join("upper").display(),
            dir.join("work").display(),
            dir.join("merged").display()
        );
        let mut holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                BuildrootError::from(RunError::Spawn {
                    program: "unshare".into(),
                    source: e,
                })
            })?;
        let stdout = holder.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = holder.kill();
            let out = holder.wait_with_output().ok();
            let tail = out
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .unwrap_or_default();
            let _ = fs::remove_dir_all(&dir);
            let _ = fs::remove_file(layers_dir.join(format!("{id}.lock")));
            return Err(BuildrootError::from(RunError::Failed {
                program: "mount -t overlay (layer)".into(),
                status: "failed".into(),
                code: None,
                tail,
                log: None,
            }));
        }
        let holder_stdin = holder.stdin.take();
        Ok(Layer {
            id,
            dir,
            holder,
            holder_stdin,
            base: base.clone(),
            _lock: lock,
            _base_lock: base_lock,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn arch(&self) -> Arch {
        self.base.arch
    }

    /// Where the root is mounted (a path only meaningful inside the
    /// layer's mount namespace).
    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }

    /// What the layer changed relative to the base (overlayfs upper dir).
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    fn enter(&self) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--", "nsenter", "-t"])
            .arg(self.holder.id().to_string())
            .args(["-m", "--"]);
        cmd
    }

    /// Installs packages (names or dependency strings dnf understands) into
    /// the layer from `repos` (the definition's plus local ones).
    pub fn install(
        &self,
        spec: &BaseSpec,
        repos: &[RepoSpec],
        packages: &[String],
        log: &Path,
    ) -> Result<(), BuildrootError> {
        if packages.is_empty() {
            return Ok(());
        }
        let scratch = self.dir.join("dnf");
        let mut inner = crate::base::dnf_command(&self.merged(), &scratch, spec, repos)?;
        inner.arg("install").args(packages);
        let mut cmd = self.enter();
        cmd.arg(inner.get_program()).args(inner.get_args());
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let res = crate::base::run_dnf(&mut cmd, &self.merged(), repos, log);
        let _ = fs::remove_dir_all(&scratch);
        res
    }

    /// Runs `argv` inside the layer.
    pub fn run(&self, argv: &[String], opts: &RunOptions) -> Result<Output, BuildrootError> {
        let cmd = bwrap(self.enter(), RootBind::Writable(&self.merged()), argv, opts);
        run_bwrap(cmd, argv, opts)
    }

    /// Tears the layer down now (also done on drop).
    pub fn discard(self) {}
}

impl Drop for Layer {
    fn drop(&mut self) {
        // EOF on the holder's stdin: it exits, the namespace and its mount go.
        drop(self.holder_stdin.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match self.holder.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if std::time::Instant::now() > deadline => {
                    let _ = self.holder.kill();
                    let _ = self.holder.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
        if let Some(parent) = self.dir.parent() {
            let _ = fs::remove_file(parent.join(format!("{}.lock", self.id)));
        }
    }
}

/// How the root is made `/` inside bubblewrap.
enum RootBind<'a> {
    /// A layer's merged root.
    Writable(&'a Path),
    /// A base root, read-only, with fresh `/tmp` and `/var/tmp` (tmpfs).
    ReadOnly(&'a Path),
}

/// The one bubblewrap invocation (layers and read-only base roots): own
/// pid, ipc, uts, cgroup (and, unless asked, network) namespaces, a
/// minimal /dev and /proc, a cleared environment, only the given binds.
/// `prefix` is what runs bwrap (`nsenter` into a layer's namespace, or
/// `setpriv` alone).
fn bwrap(mut cmd: Command, root: RootBind<'_>, argv: &[String], opts: &RunOptions) -> Command {
    cmd.arg("bwrap");
    match root {
        RootBind::Writable(p) => {
            cmd.arg("--bind").arg(p).arg("/");
        }
        RootBind::ReadOnly(p) => {
            cmd.arg("--ro-bind")
                .arg(p)
                .arg("/")
                .args(["--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]);
        }
    }
    cmd.args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm"])
        .args([
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ])
        .args(["--hostname", "azldev", "--die-with-parent", "--clearenv"])
        .args([
            "--setenv",
            "PATH",
            PATH,
            "--setenv",
            "HOME",
            "/builddir",
            "--setenv",
            "LANG",
            "C.UTF-8",
        ])
        .args([
            "--setenv",
            "TERM",
            &std::env::var("TERM").unwrap_or_else(|_| "dumb".into()),
        ]);
    if !opts.network {
        cmd.arg("--unshare-net");
    }
    if !opts.interactive {
        cmd.arg("--new-session");
    }
    for (k, v) in &opts.env {
        cmd.args(["--setenv", k, v]);
    }
    for b in &opts.binds {
        cmd.arg(if b.writable { "--bind" } else { "--ro-bind" })
            .arg(&b.host)
            .arg(&b.inside);
    }
    cmd.args(["--chdir", opts.cwd.as_deref().unwrap_or("/")])
        .arg("--")
        .args(argv);
    cmd
}

/// Runs a [`bwrap`] command through the crate's runner (or on the
/// terminal, when interactive).
fn run_bwrap(mut cmd: Command, argv: &[String], opts: &RunOptions) -> Result<Output, BuildrootError> {
    if opts.interactive {
        let status = cmd.status().map_err(|e| {
            BuildrootError::from(RunError::Spawn {
                program: "bwrap".into(),
                source: e,
            })
        })?;
        if status.success() {
            return Ok(Output {
                stdout: Vec::new(),
                stderr: Vec::new(),
            });
        }
        return Err(BuildrootError::from(RunError::Failed {
            program: argv.join(" "),
            status: status.to_string(),
            code: status.code(),
            tail: String::new(),
            log: None,
        }));
    }
    let mut runner = Runner::new().capture_stdout();
    runner.log = opts.log.clone();
    runner.timeout = opts.timeout;
    Ok(runner.run(&mut cmd)?)
}

/// Runs `argv` in a base root itself, read-only — no layer, nothing
/// installed, nothing written to the root (fresh `/tmp` and `/var/tmp`;
/// writable places only through `opts.binds`, which may go under `/tmp`)
/// — in the same isolation as a layer's commands. For queries that need
/// the root's own programs and configuration, such as `rpmspec` with the
/// root's rpm macro files (a foreign arch runs under qemu-user). Holds
/// the root's lock shared meanwhile, so `clean` cannot remove it.
pub fn run_in_base(base: &BaseRoot, argv: &[String], opts: &RunOptions) -> Result<Output, BuildrootError> {
    check_tools()?;
    ensure_emulation(base.arch)?;
    let lock = File::options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(base.lock_path())
        .map_err(io_err("open the base root lock"))?;
    lock.lock_shared().map_err(io_err("lock the base root"))?;
    let mut prefix = Command::new("setpriv");
    prefix.args(["--pdeathsig", "KILL", "--"]);
    let root = base.root();
    let cmd = bwrap(prefix, RootBind::ReadOnly(&root), argv, opts);
    let res = run_bwrap(cmd, argv, opts);
    drop(lock);
    res
}

/// Removes layer directories whose owner is gone (their lock is free).
pub fn sweep(layers_dir: &Path) -> usize {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(layers_dir) else {
        return 0;
    };
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "lock") {
            let Ok(f) = File::options().write(true).open(&path) else {
                continue;
            };
            if f.try_lock().is_ok() {
                let dir = path.with_extension("");
                let _ = fs::remove_dir_all(&dir);
                let _ = fs::remove_file(&path);
                removed += 1;
            }
        } else if path.is_dir() && !path.with_extension("lock").exists() {
            let _ = fs::remove_dir_all(&path);
            removed += 1;
        }
    }
    removed
}

/// Makes sure binaries of `arch` run on this host: native, or qemu-user
/// registered with binfmt_misc (flag F, so it works inside namespaces).
/// Registers the handler when it is installed but not enabled.
pub fn ensure_emulation(arch: Arch) -> Result<(), BuildrootError> {
    if arch.is_native() {
        return Ok(());
    }
    Emulation::host().ensure(arch)
}

/// Where binfmt_misc and qemu-user live, and whether registering is tried:
/// the host's in [`ensure_emulation`], temporary directories in tests.
#[derive(Debug, Clone)]
pub(crate) struct Emulation {
    /// `/proc/sys/fs/binfmt_misc`.
    pub binfmt_dir: PathBuf,
    /// `/usr/bin` (where `qemu-<arch>-static` is looked for).
    pub bin_dir: PathBuf,
    /// Mount binfmt_misc and run `update-binfmts --enable` when needed.
    pub register: bool,
}

impl Emulation {
    fn host() -> Emulation {
        Emulation {
            binfmt_dir: PathBuf::from("/proc/sys/fs/binfmt_misc"),
            bin_dir: PathBuf::from("/usr/bin"),
            register: true,
        }
    }

    pub(crate) fn ensure(&self, arch: Arch) -> Result<(), BuildrootError> {
        let name = format!("qemu-{}", arch.rpm());
        let entry = self.binfmt_dir.join(&name);
        let enabled = |p: &Path| fs::read_to_string(p).is_ok_and(|s| s.lines().next() == Some("enabled"));
        if enabled(&entry) {
            return Ok(());
        }
        let qemu = self.bin_dir.join(format!("qemu-{}-static", arch.rpm()));
        if !qemu.exists() {
            return Err(BuildrootError::Emulation(format!(
                "{arch} binaries run on this host only under qemu-user, and {} is not installed; \
                 on Debian: apt-get install -y qemu-user-static binfmt-support",
                qemu.display()
            )));
        }
        if self.register {
            if !self.binfmt_dir.join("register").exists() {
                let _ = Runner::new().run(
                    Command::new("mount")
                        .args(["-t", "binfmt_misc", "binfmt_misc"])
                        .arg(&self.binfmt_dir),
                );
            }
            if crate::run::have("update-binfmts") {
                let _ = Runner::new().run(Command::new("update-binfmts").args(["--enable", &name]));
            }
            if enabled(&entry) {
                return Ok(());
            }
        }
        Err(BuildrootError::Emulation(format!(
            "{arch} binaries need the qemu-user handler `{name}` registered with binfmt_misc ({}), \
             and it is not and could not be (tried mounting binfmt_misc and `update-binfmts --enable {name}`); \
             as root: apt-get install -y qemu-user-static binfmt-support && update-binfmts --enable {name}",
            entry.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emulation(dir: &Path) -> Emulation {
        Emulation {
            binfmt_dir: dir.join("binfmt_misc"),
            bin_dir: dir.join("bin"),
            register: false,
        }
    }

    #[test]
    fn missing_qemu_says_what_to_install() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = emulation(dir.path())
            .ensure(Arch::Aarch64)
            .expect_err("no qemu, no handler");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!(
                "{}/bin/qemu-aarch64-static is not installed",
                dir.path().display()
            )),
            "{msg}"
        );
        assert!(
            msg.contains("apt-get install -y qemu-user-static binfmt-support"),
            "{msg}"
        );
    }

    #[test]
    fn an_unregistered_handler_says_how_to_register_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = emulation(dir.path());
        fs::create_dir_all(&e.bin_dir).expect("mkdir");
        fs::create_dir_all(&e.binfmt_dir).expect("mkdir");
        fs::write(e.bin_dir.join("qemu-aarch64-static"), "").expect("write");
        // Present but disabled is not enough.
        fs::write(
            e.binfmt_dir.join("qemu-aarch64"),
            "disabled\ninterpreter /usr/bin/qemu-aarch64-static\n",
        )
        .expect("write");
        let msg = e.ensure(Arch::Aarch64).expect_err("disabled handler").to_string();
        assert!(
            msg.contains("the qemu-user handler `qemu-aarch64` registered with binfmt_misc"),
            "{msg}"
        );
        assert!(msg.contains("update-binfmts --enable qemu-aarch64"), "{msg}");
        // Enabled: fine.
        fs::write(
            e.binfmt_dir.join("qemu-aarch64"),
            "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\n",
        )
        .expect("write");
        e.ensure(Arch::Aarch64).expect("an enabled handler is enough");
    }
}
