//! Boot checks: a disk image booted under qemu-system with TCG (no KVM
//! needed) and UEFI firmware (OVMF for x86_64 on `q35`, AAVMF for aarch64
//! on `virt`), no network, the serial console written to a log. A disk is
//! a virtio disk; an ISO (`.iso`) is a read-only CD-ROM: on the q35's AHCI
//! controller (`ide-cd`) for x86_64, on a virtio-scsi controller
//! (`scsi-cd`) for aarch64, whose `virt` machine has no IDE. The check
//! passes when a line of the console is exactly the marker; it fails at a
//! kernel panic, when the machine stops first, at the timeout, or when the
//! caller cancels ([`azldev_buildroot::run::cancel`], Ctrl-C). qemu runs in
//! its own process group under `setpriv --pdeathsig KILL`, and is killed on
//! every way out, so no machine outlives the check.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use azldev_buildroot::arch::Arch;

use super::BootError;

/// Lines of console an error carries.
const TAIL_LINES: usize = 30;

/// What the kernel prints when it panics.
const PANIC: &str = "Kernel panic - not syncing";

/// UEFI firmware: the code image (read only) and the variable store template
/// (copied per boot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firmware {
    pub code: PathBuf,
    pub vars: PathBuf,
}

/// Debian's firmware for the arch (`ovmf`, `qemu-efi-aarch64`), when installed.
pub fn firmware(arch: Arch) -> Result<Firmware, BootError> {
    let candidates: &[(&str, &str)] = match arch {
        Arch::X86_64 => &[
            (
                "/usr/share/OVMF/OVMF_CODE_4M.fd",
                "/usr/share/OVMF/OVMF_VARS_4M.fd",
            ),
            ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
            (
                "/usr/share/edk2/ovmf/OVMF_CODE.fd",
                "/usr/share/edk2/ovmf/OVMF_VARS.fd",
            ),
        ],
        Arch::Aarch64 => &[
            ("/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"),
            (
                "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
                "/usr/share/edk2/aarch64/vars-template-pflash.raw",
            ),
        ],
    };
    candidates
        .iter()
        .map(|(c, v)| Firmware {
            code: PathBuf::from(c),
            vars: PathBuf::from(v),
        })
        .find(|f| f.code.is_file() && f.vars.is_file())
        .ok_or_else(|| BootError::MissingTool {
            what: format!("UEFI firmware for {arch} ({})", candidates[0].0),
            package: match arch {
                Arch::X86_64 => "ovmf",
                Arch::Aarch64 => "qemu-efi-aarch64",
            },
        })
}

/// qemu-system's program and Debian package for the arch.
pub fn qemu_program(arch: Arch) -> (&'static str, &'static str) {
    match arch {
        Arch::X86_64 => ("qemu-system-x86_64", "qemu-system-x86"),
        Arch::Aarch64 => ("qemu-system-aarch64", "qemu-system-arm"),
    }
}

/// One boot check.
#[derive(Debug, Clone)]
pub struct BootCheck {
    /// The disk image (raw, or qcow2 when the name ends in `.qcow2`; a CD-ROM
    /// when it ends in `.iso`); never written.
    pub disk: PathBuf,
    pub arch: Arch,
    /// The console line that means the image came up.
    pub marker: String,
    pub timeout: Duration,
    /// Where `console.log`, `qemu.log` and the firmware's variable store go.
    pub log_dir: PathBuf,
    pub memory_mib: u32,
}

/// A passed boot check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BootReport {
    pub arch: Arch,
    pub disk: PathBuf,
    pub marker: String,
    /// From starting qemu to the marker.
    pub marker_seconds: f64,
    /// From starting qemu to its end.
    pub seconds: f64,
    /// The machine powered itself off after the marker (otherwise it was killed).
    pub powered_off: bool,
    pub console: PathBuf,
}

/// The qemu command line (without the `setpriv` wrapper).
pub fn command(check: &BootCheck, fw: &Firmware, vars: &Path, console: &Path) -> Command {
    let (program, _) = qemu_program(check.arch);
    let mut cmd = Command::new(program);
    match check.arch {
        Arch::X86_64 => cmd.args(["-machine", "q35"]),
        Arch::Aarch64 => cmd.args(["-machine", "virt", "-cpu", "cortex-a57"]),
    };
    let ext = check.disk.extension().and_then(|e| e.to_str()).unwrap_or("");
    let format = if ext == "qcow2" { "qcow2" } else { "raw" };
    cmd.args(["-accel", "tcg", "-smp", "1", "-m"])
        .arg(check.memory_mib.to_string())
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-monitor",
            "none",
        ])
        .args(["-nic", "none", "-no-reboot"])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={}",
            fw.code.display()
        ))
        .arg("-drive")
        .arg(format!("if=pflash,format=raw,unit=1,file={}", vars.display()))
        .arg("-drive");
    if ext == "iso" {
        cmd.arg(format!(
            "if=none,id=cd0,media=cdrom,readonly=on,format=raw,file={}",
            check.disk.display()
        ));
        match check.arch {
            Arch::X86_64 => cmd.args(["-device", "ide-cd,drive=cd0,bus=ide.0,bootindex=0"]),
            Arch::Aarch64 => cmd.args([
                "-device",
                "virtio-scsi-pci,id=scsi0",
                "-device",
                "scsi-cd,drive=cd0,bus=scsi0.0,bootindex=0",
            ]),
        };
    } else {
        cmd.arg(format!(
            "if=virtio,format={format},snapshot=on,file={}",
            check.disk.display()
        ));
    }
    cmd
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> BootError {
    move |source| BootError::Io { what, source }
}

/// Kills qemu when dropped (every way out of [`BootCheck::run`]).
struct Machine(Child);

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl BootCheck {
    /// Boots the disk and waits for the marker.
    pub fn run(&self) -> Result<BootReport, BootError> {
        let (program, package) = qemu_program(self.arch);
        if !azldev_buildroot::run::have(program) {
            return Err(BootError::MissingTool {
                what: program.to_owned(),
                package,
            });
        }
        if !self.disk.is_file() {
            return Err(BootError::Io {
                what: format!("read the disk image {}", self.disk.display()),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let fw = firmware(self.arch)?;
        fs::create_dir_all(&self.log_dir).map_err(io(format!("create {}", self.log_dir.display())))?;
        let console = self.log_dir.join("console.log");
        let qemu_log = self.log_dir.join("qemu.log");
        let vars = self.log_dir.join("efivars.fd");
        let _ = fs::remove_file(&console);
        fs::copy(&fw.vars, &vars).map_err(io(format!("copy {}", fw.vars.display())))?;
        let _vars_guard = super::initrd::RemoveOnDrop(vars.clone());
        // qemu creates the console file; create it first so it can be read at once.
        fs::write(&console, b"").map_err(io(format!("create {}", console.display())))?;

        let inner = command(self, &fw, &vars, &console);
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--"])
            .arg(inner.get_program())
            .args(inner.get_args());
        let described = azldev_buildroot::run::describe(&cmd);
        let log = fs::File::create(&qemu_log).map_err(io(format!("create {}", qemu_log.display())))?;
        let log2 = log
            .try_clone()
            .map_err(io(format!("open {}", qemu_log.display())))?;
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        // Its own process group: a terminal's Ctrl-C reaches azldev, which kills it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let _ = fs::write(&qemu_log, format!("$ {described}\n"));
        let start = Instant::now();
        let child = cmd.spawn().map_err(|source| BootError::Spawn {
            program: described.clone(),
            source,
        })?;
        let mut machine = Machine(child);
        let mut reader = fs::File::open(&console).map_err(io(format!("open {}", console.display())))?;
        let mut text = String::new();
        let mut pos = 0u64;
        let mut marker_at: Option<Duration> = None;
        let mut panic_at: Option<Instant> = None;
        loop {
            let exited = machine.0.try_wait().map_err(io(format!("wait for {program}")))?;
            // Read what the console got (after the exit check: nothing is missed).
            reader
                .seek(SeekFrom::Start(pos))
                .map_err(io(format!("read {}", console.display())))?;
            let mut buf = Vec::new();
            reader
                .read_to_end(&mut buf)
                .map_err(io(format!("read {}", console.display())))?;
            pos += buf.len() as u64;
            text.push_str(&String::from_utf8_lossy(&buf));
            if marker_at.is_none() && has_line(&text, &self.marker) {
                marker_at = Some(start.elapsed());
            }
            if panic_at.is_none() && marker_at.is_none() && text.contains(PANIC) {
                panic_at = Some(Instant::now());
            }
            if let Some(at) = marker_at
                && (exited.is_some() || start.elapsed() > at + Duration::from_secs(10))
            {
                drop(machine);
                return Ok(BootReport {
                    arch: self.arch,
                    disk: self.disk.clone(),
                    marker: self.marker.clone(),
                    marker_seconds: at.as_secs_f64(),
                    seconds: start.elapsed().as_secs_f64(),
                    powered_off: exited.is_some_and(|s| s.success()),
                    console,
                });
            }
            // A panic: give the trace a moment to reach the console.
            if let Some(at) = panic_at
                && (exited.is_some() || at.elapsed() > Duration::from_secs(2))
            {
                drop(machine);
                return Err(BootError::Panic {
                    marker: self.marker.clone(),
                    tail: panic_tail(&text),
                    log: console,
                });
            }
            if let Some(status) = exited {
                let qemu_out = fs::read_to_string(&qemu_log).unwrap_or_default();
                let mut t = tail(&text);
                if !status.success() {
                    t.push_str("\n--- qemu ---\n");
                    t.push_str(&tail(&qemu_out));
                }
                return Err(BootError::Stopped {
                    marker: self.marker.clone(),
                    status: status.to_string(),
                    tail: t,
                    log: console,
                });
            }
            if azldev_buildroot::run::cancelled() {
                return Err(BootError::Cancelled);
            }
            if start.elapsed() > self.timeout {
                drop(machine);
                return Err(BootError::Timeout {
                    marker: self.marker.clone(),
                    after: self.timeout,
                    tail: tail(&text),
                    log: console,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether a console line (carriage returns and spaces trimmed) is exactly `marker`.
pub fn has_line(text: &str, marker: &str) -> bool {
    text.lines().any(|l| l.trim() == marker)
}

/// The console's last lines, without terminal escape sequences.
pub fn tail(text: &str) -> String {
    let text = strip_escapes(text);
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    lines[from..].join("\n")
}

/// The console around a panic: a few lines before the panic message (what
/// init printed last) and the message with the start of its trace.
pub fn panic_tail(text: &str) -> String {
    let text = strip_escapes(text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let Some(at) = lines.iter().position(|l| l.contains(PANIC)) else {
        return tail(&text);
    };
    let from = at.saturating_sub(8);
    let to = (at + TAIL_LINES - 8).min(lines.len());
    lines[from..to].join("\n")
}

/// Removes ANSI/VT100 escape sequences (the firmware's console draws with them).
pub fn strip_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else if c != '\r' || chars.peek() == Some(&'\n') {
            out.push(c);
        } else {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_must_be_a_whole_line() {
        let m = "AZLDEV-BOOT-OK vm x86_64";
        assert!(has_line("a\r\nAZLDEV-BOOT-OK vm x86_64\r\n", m));
        assert!(!has_line("echo AZLDEV-BOOT-OK vm x86_64\n", m));
        assert!(!has_line("AZLDEV-BOOT-OK vm aarch64\n", m));
    }

    #[test]
    fn tail_strips_escapes_and_keeps_the_end() {
        let mut s = String::from("\u{1b}[2J\u{1b}[01;01HBdsDxe: loading\r\n");
        for i in 0..40 {
            s.push_str(&format!("line {i}\r\n"));
        }
        let t = tail(&s);
        assert!(t.starts_with("line 10\n"), "{t}");
        assert!(t.ends_with("line 39"));
        assert_eq!(strip_escapes("\u{1b}[2J\u{1b}[01;01HBdsDxe"), "BdsDxe");
    }

    #[test]
    fn panic_tail_starts_before_the_panic() {
        let mut s =
            String::from("boot: giving up\n[ 5.0] Kernel panic - not syncing: Attempted to kill init!\n");
        for i in 0..60 {
            s.push_str(&format!("[ 5.1] trace {i}\n"));
        }
        let t = panic_tail(&s);
        assert!(t.starts_with("boot: giving up\n[ 5.0] Kernel panic"), "{t}");
        assert_eq!(t.lines().count(), TAIL_LINES - 7);
    }

    #[test]
    fn command_lines() {
        let fw = Firmware {
            code: "/fw/CODE.fd".into(),
            vars: "/fw/VARS.fd".into(),
        };
        let check = BootCheck {
            disk: "/d/vm.qcow2".into(),
            arch: Arch::Aarch64,
            marker: "M".into(),
            timeout: Duration::from_secs(1),
            log_dir: "/l".into(),
            memory_mib: 1024,
        };
        let cmd = command(&check, &fw, Path::new("/l/vars.fd"), Path::new("/l/console.log"));
        let line = azldev_buildroot::run::describe(&cmd);
        assert_eq!(
            line,
            "qemu-system-aarch64 -machine virt -cpu cortex-a57 -accel tcg -smp 1 -m 1024 -nodefaults \
             -no-user-config -display none -monitor none -nic none -no-reboot -serial file:/l/console.log \
             -drive if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd \
             -drive if=pflash,format=raw,unit=1,file=/l/vars.fd \
             -drive if=virtio,format=qcow2,snapshot=on,file=/d/vm.qcow2"
        );
    }

    #[test]
    fn an_iso_is_a_read_only_cd_rom() {
        let fw = Firmware {
            code: "/fw/CODE.fd".into(),
            vars: "/fw/VARS.fd".into(),
        };
        let mut check = BootCheck {
            disk: "/d/vm.iso".into(),
            arch: Arch::X86_64,
            marker: "M".into(),
            timeout: Duration::from_secs(1),
            log_dir: "/l".into(),
            memory_mib: 1024,
        };
        let line = |check: &BootCheck| {
            let cmd = command(check, &fw, Path::new("/l/vars.fd"), Path::new("/l/console.log"));
            let line = azldev_buildroot::run::describe(&cmd);
            let at = line.find("-drive if=none").expect("the CD's drive");
            line[at..].to_owned()
        };
        // q35's AHCI controller.
        assert_eq!(
            line(&check),
            "-drive if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/d/vm.iso \
             -device ide-cd,drive=cd0,bus=ide.0,bootindex=0"
        );
        // virt has no IDE: virtio-scsi.
        check.arch = Arch::Aarch64;
        assert_eq!(
            line(&check),
            "-drive if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/d/vm.iso \
             -device virtio-scsi-pci,id=scsi0 -device scsi-cd,drive=cd0,bus=scsi0.0,bootindex=0"
        );
    }

    #[test]
    fn missing_disk_is_an_error_and_starts_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let check = BootCheck {
            disk: dir.path().join("none.raw"),
            arch: Arch::X86_64,
            marker: "M".into(),
            timeout: Duration::from_secs(1),
            log_dir: dir.path().join("log"),
            memory_mib: 256,
        };
        if !azldev_buildroot::run::have("qemu-system-x86_64") {
            return;
        }
        let e = check.run().expect_err("no disk");
        assert!(e.to_string().contains("none.raw"), "{e}");
    }
}
