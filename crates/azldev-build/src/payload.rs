//! Reading a binary RPM's payload without rpm: the lead, the signature and
//! main headers, then the compressed cpio archive, to check the machine of
//! every ELF file it carries (the silent x86-64-in-aarch64 trap).
//!
//! Doing this in-process instead of `rpm2cpio | cpio` and `file` inside the
//! layer removes a sandboxed run and three programs from every build.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::Arch;

/// Why a payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not an RPM package ({what})")]
    Format { path: String, what: String },
}

/// `e_machine` of the ELF files an arch's packages may hold.
pub fn elf_machine(arch: Arch) -> u16 {
    match arch {
        Arch::X86_64 => 62,   // EM_X86_64
        Arch::Aarch64 => 183, // EM_AARCH64
    }
}

/// A readable name of an ELF machine number.
pub fn machine_name(m: u16) -> String {
    match m {
        3 => "i386".into(),
        40 => "ARM".into(),
        62 => "x86-64".into(),
        183 => "AArch64".into(),
        243 => "RISC-V".into(),
        247 => "BPF".into(),
        other => format!("machine {other}"),
    }
}

/// What [`scan`] found in one package.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Regular files in the payload.
    pub files: usize,
    /// ELF files among them.
    pub elfs: usize,
    /// ELF files built for another machine: (path, machine).
    pub foreign: Vec<(String, u16)>,
}

/// The two errors of reading `rpm`: an I/O error, and a format problem.
fn error_makers(rpm: &Path) -> (impl Fn(io::Error) -> PayloadError, impl Fn(&str) -> PayloadError) {
    let path = rpm.display().to_string();
    let p2 = path.clone();
    (
        move |source| PayloadError::Io {
            path: path.clone(),
            source,
        },
        move |what: &str| PayloadError::Format {
            path: p2.clone(),
            what: what.to_owned(),
        },
    )
}

/// Reads `rpm`'s payload and lists the ELF files whose machine is not `want`.
pub fn scan(rpm: &Path, want: u16) -> Result<Scan, PayloadError> {
    let (io_err, bad) = error_makers(rpm);
    let (r, index, data) = open_header(rpm)?;
    let compressor = string_tag(&index, &data, 1125).unwrap_or_else(|| "gzip".into());
    let format = string_tag(&index, &data, 1124).unwrap_or_else(|| "cpio".into());
    if format != "cpio" {
        return Err(bad(&format!("payload format `{format}`")));
    }
    let mut payload: Box<dyn Read> = match compressor.as_str() {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(r)),
        "xz" | "lzma" => Box::new(lzma_rust2::XzReader::new(r, true)),
        "zstd" => Box::new(
            ruzstd::decoding::StreamingDecoder::new(r).map_err(|e| bad(&format!("zstd payload: {e}")))?,
        ),
        "identity" => Box::new(r),
        other => return Err(bad(&format!("payload compressor `{other}`"))),
    };
    cpio_scan(&mut payload, want).map_err(|e| match e {
        CpioError::Io(e) => io_err(e),
        CpioError::Format(w) => bad(&w),
    })
}

/// Opens `rpm` and reads its lead, signature header and main header;
/// returns the reader (at the payload) and the main header.
#[allow(clippy::type_complexity)]
fn open_header(rpm: &Path) -> Result<(BufReader<File>, Vec<[u32; 4]>, Vec<u8>), PayloadError> {
    let (io_err, bad) = error_makers(rpm);
    let mut r = BufReader::new(File::open(rpm).map_err(&io_err)?);
    let mut lead = [0u8; 96];
    r.read_exact(&mut lead).map_err(&io_err)?;
    if lead[..4] != [0xed, 0xab, 0xee, 0xdb] {
        return Err(bad("no lead"));
    }
    // Signature header, padded to 8 bytes; then the main header.
    let sig_len = header_len(&mut r).map_err(|e| header_error(e, &bad, &io_err))?;
    skip(&mut r, sig_len.1 + (8 - (sig_len.0 % 8)) % 8).map_err(&io_err)?;
    let (index, data) = read_header(&mut r).map_err(|e| header_error(e, &bad, &io_err))?;
    Ok((r, index, data))
}

/// The package's build time (`BUILDTIME`, seconds since 1970), read from
/// its header; with the reproducibility macros it is `SOURCE_DATE_EPOCH`
/// (the newest changelog entry), so the same package bytes give the same
/// time.
pub fn build_time(rpm: &Path) -> Result<i64, PayloadError> {
    let (_, index, data) = open_header(rpm)?;
    // BUILDTIME (1006), an INT32 (type 4).
    index
        .iter()
        .find(|e| e[0] == 1006 && e[1] == 4)
        .and_then(|e| data.get(e[2] as usize..e[2] as usize + 4))
        .map(|b| i64::from(be32(b)))
        .ok_or_else(|| error_makers(rpm).1("no build time in its header"))
}

enum HeaderError {
    Io(io::Error),
    Format(&'static str),
}

fn header_error(
    e: HeaderError,
    bad: &dyn Fn(&str) -> PayloadError,
    io_err: &dyn Fn(io::Error) -> PayloadError,
) -> PayloadError {
    match e {
        HeaderError::Io(e) => io_err(e),
        HeaderError::Format(w) => bad(w),
    }
}

/// Reads a header's preamble; returns (data length, index + data length).
fn header_len(r: &mut impl Read) -> Result<(u64, u64), HeaderError> {
    let mut pre = [0u8; 16];
    r.read_exact(&mut pre).map_err(HeaderError::Io)?;
    if pre[..3] != [0x8e, 0xad, 0xe8] {
        return Err(HeaderError::Format("bad header magic"));
    }
    let n = u64::from(be32(&pre[8..12]));
    let size = u64::from(be32(&pre[12..16]));
    Ok((size, n * 16 + size))
}

/// Reads a whole header: its index entries (tag, type, offset, count) and data.
fn read_header(r: &mut impl Read) -> Result<(Vec<[u32; 4]>, Vec<u8>), HeaderError> {
    let mut pre = [0u8; 16];
    r.read_exact(&mut pre).map_err(HeaderError::Io)?;
    if pre[..3] != [0x8e, 0xad, 0xe8] {
        return Err(HeaderError::Format("bad header magic"));
    }
    let n = be32(&pre[8..12]) as usize;
    let size = be32(&pre[12..16]) as usize;
    if n > 1 << 16 || size > 1 << 28 {
        return Err(HeaderError::Format("header too large"));
    }
    let mut raw = vec![0u8; n * 16];
    r.read_exact(&mut raw).map_err(HeaderError::Io)?;
    let index = raw
        .chunks_exact(16)
        .map(|c| [be32(&c[0..4]), be32(&c[4..8]), be32(&c[8..12]), be32(&c[12..16])])
        .collect();
    let mut data = vec![0u8; size];
    r.read_exact(&mut data).map_err(HeaderError::Io)?;
    Ok((index, data))
}

/// A STRING (type 6) tag's value.
fn string_tag(index: &[[u32; 4]], data: &[u8], tag: u32) -> Option<String> {
    let e = index.iter().find(|e| e[0] == tag && e[1] == 6)?;
    let rest = data.get(e[2] as usize..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn skip(r: &mut (impl Read + ?Sized), n: u64) -> io::Result<()> {
    let copied = io::copy(&mut r.take(n), &mut io::sink())?;
    if copied == n {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated"))
    }
}

enum CpioError {
    Io(io::Error),
    Format(String),
}

/// Walks a `newc` cpio archive, reading the first bytes of every regular file.
fn cpio_scan(r: &mut dyn Read, want: u16) -> Result<Scan, CpioError> {
    let mut scan = Scan::default();
    loop {
        let mut hdr = [0u8; 110];
        r.read_exact(&mut hdr).map_err(CpioError::Io)?;
        if &hdr[..6] != b"070701" && &hdr[..6] != b"070702" {
            return Err(CpioError::Format(format!(
                "cpio entry magic `{}` (only newc payloads are read)",
                String::from_utf8_lossy(&hdr[..6])
            )));
        }
        let field = |i: usize| -> Result<u64, CpioError> {
            let s = std::str::from_utf8(&hdr[6 + i * 8..14 + i * 8])
                .map_err(|_| CpioError::Format("cpio header is not hex".into()))?;
            u64::from_str_radix(s, 16).map_err(|_| CpioError::Format("cpio header is not hex".into()))
        };
        let mode = field(1)?;
        let size = field(6)?;
        let namesize = field(11)?;
        let mut name = vec![0u8; namesize as usize];
        r.read_exact(&mut name).map_err(CpioError::Io)?;
        skip(r, (4 - (110 + namesize) % 4) % 4).map_err(CpioError::Io)?;
        let name = String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(&name)).into_owned();
        if name == "TRAILER!!!" {
            return Ok(scan);
        }
        let pad = (4 - size % 4) % 4;
        if mode & 0o170000 == 0o100000 {
            scan.files += 1;
            let head_len = size.min(20);
            let mut head = vec![0u8; head_len as usize];
            r.read_exact(&mut head).map_err(CpioError::Io)?;
            skip(r, size - head_len + pad).map_err(CpioError::Io)?;
            if head.len() >= 20 && head[..4] == *b"\x7fELF" {
                scan.elfs += 1;
                let machine = if head[5] == 2 {
                    u16::from_be_bytes([head[18], head[19]])
                } else {
                    u16::from_le_bytes([head[18], head[19]])
                };
                if machine != want {
                    let shown = name.strip_prefix('.').unwrap_or(&name).to_owned();
                    scan.foreign.push((shown, machine));
                }
            }
        } else {
            skip(r, size + pad).map_err(CpioError::Io)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newc(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |name: &str, mode: u32, data: &[u8]| {
            let namesize = name.len() + 1;
            out.extend_from_slice(b"070701");
            for v in [
                0,
                mode,
                0,
                0,
                1,
                0,
                data.len() as u32,
                0,
                0,
                0,
                0,
                namesize as u32,
                0,
            ] {
                out.extend_from_slice(format!("{v:08x}").as_bytes());
            }
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(data);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        };
        for (n, m, d) in entries {
            push(n, *m, d);
        }
        push("TRAILER!!!", 0, b"");
        out
    }

    fn elf(machine: u16) -> Vec<u8> {
        let mut e = vec![0u8; 64];
        e[..4].copy_from_slice(b"\x7fELF");
        e[4] = 2;
        e[5] = 1;
        e[18..20].copy_from_slice(&machine.to_le_bytes());
        e
    }

    #[test]
    fn finds_foreign_elf_files_only() {
        let x86 = elf(62);
        let arm = elf(183);
        let archive = newc(&[
            ("./usr/bin/good", 0o100755, &arm),
            ("./usr/bin/bad", 0o100755, &x86),
            ("./usr/share/doc/x", 0o100644, b"hello"),
            ("./usr/lib", 0o040755, b""),
            ("./usr/lib/short", 0o100644, b"\x7fEL"),
        ]);
        let Ok(scan) = cpio_scan(&mut archive.as_slice(), 183) else {
            panic!("the archive reads")
        };
        assert_eq!(scan.files, 4);
        assert_eq!(scan.elfs, 2);
        assert_eq!(scan.foreign, vec![("/usr/bin/bad".to_owned(), 62)]);
    }

    #[test]
    fn rejects_other_cpio_formats() {
        let mut archive = newc(&[("./a", 0o100644, b"x")]);
        archive[..6].copy_from_slice(b"07070X");
        assert!(matches!(
            cpio_scan(&mut archive.as_slice(), 62),
            Err(CpioError::Format(_))
        ));
    }
}
