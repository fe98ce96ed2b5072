//! The one runner for external programs in this crate: captures output,
//! applies a timeout, and turns failure into a typed error carrying the
//! output's tail.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

/// How a program failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("cannot run `{program}`: {message}")]
    Spawn { program: String, message: String },
    #[error("`{program}` did not finish within {seconds}s")]
    Timeout { program: String, seconds: u64 },
    #[error("`{program}` failed ({status}):\n{tail}")]
    Failed {
        program: String,
        status: String,
        /// The last lines of its standard error (or output).
        tail: String,
    },
}

/// What a successful run printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The last `n` lines of `bytes`.
#[must_use]
pub fn tail(bytes: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Run `cmd` to completion (stdin closed), at most `timeout`.
///
/// # Errors
/// The program cannot be started, exceeds the timeout (it is killed), or
/// exits unsuccessfully.
pub fn run(mut cmd: Command, timeout: Duration) -> Result<Output, RunError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| RunError::Spawn {
        program: program.clone(),
        message: e.to_string(),
    })?;
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();

    // Read both pipes while waiting, so a chatty program cannot block and
    // a hanging one still times out.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_reader = drain(out_pipe.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err_reader = drain(err_pipe.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status = match child.wait_timeout(timeout) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Timeout {
                program,
                seconds: timeout.as_secs(),
            });
        }
        Err(e) => {
            return Err(RunError::Spawn {
                program,
                message: e.to_string(),
            });
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        let from = if stderr.is_empty() { &stdout } else { &stderr };
        return Err(RunError::Failed {
            program,
            status: status.to_string(),
            tail: tail(from, 20),
        });
    }
    Ok(Output { stdout, stderr })
}
