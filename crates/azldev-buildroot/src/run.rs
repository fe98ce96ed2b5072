//! The one way this crate runs external programs (dpkg-deb, rpmbuild,
//! createrepo_c, dnf, debootstrap, unshare, bwrap…): output captured into a
//! log file and kept in memory for the error's tail, a timeout that kills
//! the whole process group, and a typed error on failure.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines of output an error carries.
const TAIL_LINES: usize = 25;

/// Set once the user asked to stop (Ctrl-C): every running program is
/// killed with its process group and no new one starts.
static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stop every program this process runs, now and from now on.
pub fn cancel() {
    CANCELLED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`cancel`] was called.
pub fn cancelled() -> bool {
    CANCELLED.load(std::sync::atomic::Ordering::SeqCst)
}

/// A failed external program.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program}` failed ({status}){}\n{tail}", log_hint(.log))]
    Failed {
        program: String,
        status: String,
        /// Exit code, when the program exited rather than being signalled.
        code: Option<i32>,
        tail: String,
        log: Option<PathBuf>,
    },
    #[error("`{program}` was stopped (interrupted)")]
    Cancelled { program: String },
    #[error("`{program}` timed out after {timeout:?}{}\n{tail}", log_hint(.log))]
    Timeout {
        program: String,
        timeout: Duration,
        tail: String,
        log: Option<PathBuf>,
    },
}

fn log_hint(log: &Option<PathBuf>) -> String {
    log.as_ref()
        .map(|p| format!("; log: {}", p.display()))
        .unwrap_or_default()
}

impl RunError {
    /// The last lines of the program's output.
    pub fn tail(&self) -> &str {
        match self {
            RunError::Spawn { .. } | RunError::Cancelled { .. } => "",
            RunError::Failed { tail, .. } | RunError::Timeout { tail, .. } => tail,
        }
    }

    /// The program's exit code, if it exited.
    pub fn code(&self) -> Option<i32> {
        match self {
            RunError::Failed { code, .. } => *code,
            _ => None,
        }
    }
}

/// What a successful run printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub stdout: Vec<u8>,
    /// stderr (and stdout too when stdout was not captured separately).
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// How to run one program.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    /// Append everything the program prints to this file (created if missing).
    pub log: Option<PathBuf>,
    /// Kill the program (and its process group) after this long.
    pub timeout: Option<Duration>,
    /// Keep stdout apart (returned in [`Output::stdout`], not logged) instead
    /// of interleaving it with stderr in the log.
    pub capture_stdout: bool,
}

impl Runner {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn log(mut self, path: impl Into<PathBuf>) -> Self {
        self.log = Some(path.into());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    pub fn capture_stdout(mut self) -> Self {
        self.capture_stdout = true;
        self
    }

    /// Runs `cmd` to completion. stdin is `/dev/null`.
    pub fn run(&self, cmd: &mut Command) -> Result<Output, RunError> {
        let program = describe(cmd);
        if cancelled() {
            return Err(RunError::Cancelled { program });
        }
        let mut wrapped = dying_with_parent(cmd);
        let cmd = wrapped.as_mut().unwrap_or(cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(cmd, 0);
        if let Some(log) = &self.log {
            if let Some(dir) = log.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Ok(mut f) = File::options().create(true).append(true).open(log) {
                let _ = writeln!(f, "$ {program}");
            }
        }
        let mut child = cmd.spawn().map_err(|source| RunError::Spawn {
            program: program.clone(),
            source,
        })?;
        let pgid = child.id();
        let log_file = self
            .log
            .as_ref()
            .and_then(|p| File::options().create(true).append(true).open(p).ok())
            .map(|f| Arc::new(Mutex::new(f)));
        let combined = Arc::new(Mutex::new(Vec::<u8>::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let out_thread = {
            let combined = Arc::clone(&combined);
            let log = log_file.clone();
            let separate = self.capture_stdout;
            std::thread::spawn(move || pump(stdout, if separate { None } else { Some((combined, log)) }))
        };
        let err_thread = {
            let combined = Arc::clone(&combined);
            let log = log_file.clone();
            std::thread::spawn(move || pump(stderr, Some((combined, log))))
        };
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            if cancelled() {
                kill_group(pgid);
                let _ = child.wait();
                let _ = out_thread.join();
                let _ = err_thread.join();
                return Err(RunError::Cancelled { program });
            }
            if let Some(t) = self.timeout
                && start.elapsed() > t
            {
                kill_group(pgid);
                let _ = child.wait();
                let _ = out_thread.join();
                let _ = err_thread.join();
                return Err(RunError::Timeout {
                    program,
                    timeout: t,
                    tail: tail(&lock(&combined)),
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(
                if start.elapsed() < Duration::from_millis(200) {
                    2
                } else {
                    20
                },
            ));
        };
        let stdout_bytes = out_thread.join().unwrap_or_default();
        let _ = err_thread.join();
        let combined = std::mem::take(&mut *lock(&combined));
        let status = status.map_err(|source| RunError::Spawn {
            program: program.clone(),
            source,
        })?;
        if status.success() {
            Ok(Output {
                stdout: if self.capture_stdout {
                    stdout_bytes
                } else {
                    Vec::new()
                },
                stderr: combined,
            })
        } else {
            Err(RunError::Failed {
                program,
                status: status.to_string(),
                code: status.code(),
                tail: tail(&combined),
                log: self.log.clone(),
            })
        }
    }
}

type Sink = (Arc<Mutex<Vec<u8>>>, Option<Arc<Mutex<File>>>);

/// Copies a pipe into the shared buffer and the log; returns what it read
/// when it has no sink (stdout captured apart).
fn pump(mut r: impl Read, sink: Option<Sink>) -> Vec<u8> {
    let mut own = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match &sink {
            Some((combined, log)) => {
                lock(combined).extend_from_slice(&buf[..n]);
                if let Some(log) = log {
                    let _ = lock(log).write_all(&buf[..n]);
                }
            }
            None => own.extend_from_slice(&buf[..n]),
        }
    }
    own
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The last [`TAIL_LINES`] lines of `bytes`.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    lines[from..].join("\n")
}

/// Kills a process group (best effort).
pub(crate) fn kill_group(pgid: u32) {
    if let Ok(pid) = i32::try_from(pgid)
        && let Some(pid) = rustix::process::Pid::from_raw(pid)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// `program arg arg…` for messages.
/// `cmd` under `setpriv --pdeathsig KILL`, so that it is killed when this
/// process dies, even by SIGKILL (Ctrl-C and timeouts kill its process
/// group; nothing else would stop it writing on after azldev is gone).
/// `None` when it already is, or when util-linux's `setpriv` is missing.
fn dying_with_parent(cmd: &Command) -> Option<Command> {
    static SETPRIV: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let setpriv = SETPRIV.get_or_init(|| {
        ["/usr/bin/setpriv", "/bin/setpriv"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    });
    let setpriv = setpriv.as_ref()?;
    let program = Path::new(cmd.get_program());
    if program.file_name().is_some_and(|n| n == "setpriv") {
        return None;
    }
    let mut w = Command::new(setpriv);
    w.args(["--pdeathsig", "KILL", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        w.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    Some(w)
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        let a = a.to_string_lossy();
        if a.contains(' ') || a.is_empty() {
            s.push('\'');
            s.push_str(&a);
            s.push('\'');
        } else {
            s.push_str(&a);
        }
    }
    s
}

/// Whether `program` is on `PATH` (or is an existing path).
pub fn have(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_captures_stdout_apart() {
        let out = Runner::new()
            .capture_stdout()
            .run(Command::new("sh").args(["-c", "echo out; echo err >&2"]))
            .expect("sh runs");
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    fn failure_carries_tail_and_code_and_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("x.log");
        let err = Runner::new()
            .log(&log)
            .run(Command::new("sh").args(["-c", "for i in $(seq 1 40); do echo line$i; done; exit 3"]))
            .expect_err("exit 3 fails");
        assert_eq!(err.code(), Some(3));
        assert!(err.tail().starts_with("line16\n"), "{}", err.tail());
        assert!(err.tail().ends_with("line40"));
        let logged = std::fs::read_to_string(&log).expect("log written");
        assert!(logged.contains("line1\n") && logged.contains("line40\n"));
        assert!(err.to_string().contains(&log.display().to_string()));
    }

    #[test]
    fn timeout_kills_the_group() {
        let start = Instant::now();
        let err = Runner::new()
            .timeout(Duration::from_millis(300))
            .run(Command::new("sh").args(["-c", "sleep 30 & sleep 30; echo never"]))
            .expect_err("times out");
        assert!(matches!(err, RunError::Timeout { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
