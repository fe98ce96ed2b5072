//! The little of ELF an initramfs needs, read here: a program's
//! interpreter (`PT_INTERP`), its `DT_NEEDED` libraries and run paths (the
//! dynamic section, reached through the program headers), and a section's
//! bytes by name (a kernel module's `.modinfo`). Little-endian ELF32 and
//! ELF64 (x86_64, aarch64); anything else is reported, never guessed.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// The dynamic-linking facts of an ELF file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dynamic {
    /// `e_machine` (62 x86_64, 183 aarch64).
    pub machine: u16,
    /// `e_ident[EI_CLASS]`: 1 for ELF32, 2 for ELF64.
    pub class: u8,
    /// The program interpreter (the dynamic loader), when there is one.
    pub interp: Option<String>,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RUNPATH` (or `DT_RPATH` when there is no run path), split at `:`.
    pub runpath: Vec<String>,
}

/// Random access to the bytes of a file (read on demand) or of a buffer.
pub trait Bytes {
    /// `len` bytes at `offset`; an error when they are not all there.
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String>;
}

impl Bytes for [u8] {
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let start = usize::try_from(offset).map_err(|_| "offset out of range".to_owned())?;
        let len = usize::try_from(len).map_err(|_| "length out of range".to_owned())?;
        start
            .checked_add(len)
            .and_then(|end| self.get(start..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("truncated: {len} bytes at {offset} are past the end"))
    }
}

impl Bytes for File {
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        if len > 1 << 30 {
            return Err(format!("a {len}-byte read is not plausible"));
        }
        let mut buf = vec![0u8; usize::try_from(len).map_err(|_| "length out of range".to_owned())?];
        self.read_exact_at(&mut buf, offset)
            .map_err(|e| format!("{len} bytes at {offset}: {e}"))?;
        Ok(buf)
    }
}

/// Whether `head` (the first bytes of a file) starts like ELF.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// The parsed ELF header: what the rest needs.
#[derive(Debug, Clone, Copy)]
struct Header {
    class: u8,
    machine: u16,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
    shoff: u64,
    shentsize: u64,
    shnum: u64,
    shstrndx: u64,
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64le(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn header(src: &(impl Bytes + ?Sized)) -> Result<Header, String> {
    let h = src.at(0, 64).or_else(|_| src.at(0, 52))?;
    if !is_elf(&h) {
        return Err("not an ELF file".into());
    }
    if h[5] != 1 {
        return Err("big-endian ELF is not supported".into());
    }
    match h[4] {
        2 if h.len() >= 64 => Ok(Header {
            class: 2,
            machine: u16le(&h, 0x12),
            phoff: u64le(&h, 0x20),
            shoff: u64le(&h, 0x28),
            phentsize: u64::from(u16le(&h, 0x36)),
            phnum: u64::from(u16le(&h, 0x38)),
            shentsize: u64::from(u16le(&h, 0x3a)),
            shnum: u64::from(u16le(&h, 0x3c)),
            shstrndx: u64::from(u16le(&h, 0x3e)),
        }),
        1 => Ok(Header {
            class: 1,
            machine: u16le(&h, 0x12),
            phoff: u64::from(u32le(&h, 0x1c)),
            shoff: u64::from(u32le(&h, 0x20)),
            phentsize: u64::from(u16le(&h, 0x2a)),
            phnum: u64::from(u16le(&h, 0x2c)),
            shentsize: u64::from(u16le(&h, 0x2e)),
            shnum: u64::from(u16le(&h, 0x30)),
            shstrndx: u64::from(u16le(&h, 0x32)),
        }),
        2 => Err("truncated ELF header".into()),
        c => Err(format!("ELF class {c} is not supported")),
    }
}

/// A program header: type, offset, vaddr, filesz.
#[derive(Debug, Clone, Copy)]
struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

fn segments(src: &(impl Bytes + ?Sized), h: &Header) -> Result<Vec<Segment>, String> {
    let min = if h.class == 2 { 56 } else { 32 };
    if h.phnum == 0 {
        return Ok(Vec::new());
    }
    if h.phentsize < min {
        return Err(format!("program header entries of {} bytes", h.phentsize));
    }
    let table = src.at(h.phoff, h.phentsize * h.phnum)?;
    let step = usize::try_from(h.phentsize).map_err(|_| "bad header size".to_owned())?;
    Ok(table
        .chunks_exact(step)
        .map(|p| {
            if h.class == 2 {
                Segment {
                    kind: u32le(p, 0),
                    offset: u64le(p, 8),
                    vaddr: u64le(p, 16),
                    filesz: u64le(p, 32),
                }
            } else {
                Segment {
                    kind: u32le(p, 0),
                    offset: u64::from(u32le(p, 4)),
                    vaddr: u64::from(u32le(p, 8)),
                    filesz: u64::from(u32le(p, 16)),
                }
            }
        })
        .collect())
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;

/// Reads one dynamic entry's tag and value.
type DynEntry = fn(&[u8]) -> (u64, u64);

fn cstr(b: &[u8], at: u64) -> Result<String, String> {
    let at = usize::try_from(at).map_err(|_| "string offset out of range".to_owned())?;
    let rest = b
        .get(at..)
        .ok_or_else(|| format!("string at {at} past the string table"))?;
    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
    String::from_utf8(rest[..end].to_vec()).map_err(|_| format!("string at {at} is not UTF-8"))
}

/// The interpreter, needed libraries and run paths of an ELF file.
pub fn dynamic(src: &(impl Bytes + ?Sized)) -> Result<Dynamic, String> {
    let h = header(src)?;
    let segs = segments(src, &h)?;
    let mut out = Dynamic {
        machine: h.machine,
        class: h.class,
        ..Dynamic::default()
    };
    if let Some(s) = segs.iter().find(|s| s.kind == PT_INTERP) {
        let b = src.at(s.offset, s.filesz)?;
        out.interp = Some(cstr(&b, 0)?);
    }
    let Some(dynseg) = segs.iter().find(|s| s.kind == PT_DYNAMIC) else {
        return Ok(out);
    };
    let table = src.at(dynseg.offset, dynseg.filesz)?;
    let (step, tag_val): (usize, DynEntry) = if h.class == 2 {
        (16, |e| (u64le(e, 0), u64le(e, 8)))
    } else {
        (8, |e| (u64::from(u32le(e, 0)), u64::from(u32le(e, 4))))
    };
    let entries: Vec<(u64, u64)> = table
        .chunks_exact(step)
        .map(tag_val)
        .take_while(|(t, _)| *t != 0)
        .collect();
    let find = |tag| entries.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
    let (Some(strtab), Some(strsz)) = (find(DT_STRTAB), find(DT_STRSZ)) else {
        return Ok(out);
    };
    // DT_STRTAB is an address: the load segment holding it gives its offset.
    let seg = segs
        .iter()
        .find(|s| s.kind == PT_LOAD && s.vaddr <= strtab && strtab - s.vaddr < s.filesz)
        .ok_or_else(|| format!("the string table's address {strtab:#x} is in no loaded segment"))?;
    let strings = src.at(strtab - seg.vaddr + seg.offset, strsz)?;
    let mut rpath = Vec::new();
    for (tag, val) in &entries {
        match *tag {
            DT_NEEDED => out.needed.push(cstr(&strings, *val)?),
            DT_RUNPATH => out
                .runpath
                .extend(cstr(&strings, *val)?.split(':').map(str::to_owned)),
            DT_RPATH => rpath.extend(cstr(&strings, *val)?.split(':').map(str::to_owned)),
            _ => {}
        }
    }
    if out.runpath.is_empty() {
        out.runpath = rpath;
    }
    out.runpath.retain(|p| !p.is_empty());
    Ok(out)
}

/// The bytes of the section called `name`, if the file has one.
pub fn section(src: &(impl Bytes + ?Sized), name: &str) -> Result<Option<Vec<u8>>, String> {
    let h = header(src)?;
    if h.shnum == 0 {
        return Ok(None);
    }
    let min = if h.class == 2 { 64 } else { 40 };
    if h.shentsize < min {
        return Err(format!("section header entries of {} bytes", h.shentsize));
    }
    let table = src.at(h.shoff, h.shentsize * h.shnum)?;
    let step = usize::try_from(h.shentsize).map_err(|_| "bad header size".to_owned())?;
    // (name offset, file offset, size)
    let sections: Vec<(u64, u64, u64)> = table
        .chunks_exact(step)
        .map(|s| {
            if h.class == 2 {
                (u64::from(u32le(s, 0)), u64le(s, 24), u64le(s, 32))
            } else {
                (
                    u64::from(u32le(s, 0)),
                    u64::from(u32le(s, 16)),
                    u64::from(u32le(s, 20)),
                )
            }
        })
        .collect();
    let names = sections
        .get(usize::try_from(h.shstrndx).map_err(|_| "bad string table index".to_owned())?)
        .ok_or_else(|| format!("section name table {} of {}", h.shstrndx, h.shnum))?;
    let names = src.at(names.1, names.2)?;
    for (n, off, size) in &sections {
        if cstr(&names, *n)? == name {
            return src.at(*off, *size).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
pub(crate) mod fixture {
    //! ELF files written for tests: a dynamically linked program and a
    //! relocatable object with named sections.

    fn put(b: &mut Vec<u8>, at: usize, v: &[u8]) {
        if b.len() < at + v.len() {
            b.resize(at + v.len(), 0);
        }
        b[at..at + v.len()].copy_from_slice(v);
    }

    fn ident(b: &mut Vec<u8>, kind: u16, machine: u16) {
        put(b, 0, b"\x7fELF\x02\x01\x01");
        put(b, 0x10, &kind.to_le_bytes());
        put(b, 0x12, &machine.to_le_bytes());
        put(b, 0x14, &1u32.to_le_bytes());
        put(b, 0x34, &64u16.to_le_bytes());
    }

    /// An ELF64 executable for `machine` with an interpreter, `DT_NEEDED`
    /// entries and a run path.
    pub fn program(machine: u16, interp: Option<&str>, needed: &[&str], runpath: Option<&str>) -> Vec<u8> {
        let mut b = Vec::new();
        ident(&mut b, 3, machine);
        // Layout: header 64, 3 program headers (56 each) at 64, interp at
        // 0x200, strings at 0x300, dynamic at 0x400; one PT_LOAD maps the
        // file at vaddr 0x10000.
        let mut strings = vec![0u8];
        let mut dynamic: Vec<(u64, u64)> = Vec::new();
        for n in needed {
            dynamic.push((1, strings.len() as u64));
            strings.extend_from_slice(n.as_bytes());
            strings.push(0);
        }
        if let Some(r) = runpath {
            dynamic.push((29, strings.len() as u64));
            strings.extend_from_slice(r.as_bytes());
            strings.push(0);
        }
        dynamic.push((5, 0x10000 + 0x300));
        dynamic.push((10, strings.len() as u64));
        dynamic.push((0, 0));
        let phdr = |kind: u32, off: u64, vaddr: u64, size: u64| {
            let mut p = vec![0u8; 56];
            p[0..4].copy_from_slice(&kind.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&vaddr.to_le_bytes());
            p[32..40].copy_from_slice(&size.to_le_bytes());
            p
        };
        let mut phdrs = Vec::new();
        phdrs.push(phdr(1, 0, 0x10000, 0x500));
        if let Some(i) = interp {
            put(&mut b, 0x200, i.as_bytes());
            put(&mut b, 0x200 + i.len(), &[0]);
            phdrs.push(phdr(3, 0x200, 0x10200, i.len() as u64 + 1));
        }
        phdrs.push(phdr(2, 0x400, 0x10400, dynamic.len() as u64 * 16));
        put(&mut b, 0x20, &64u64.to_le_bytes());
        put(&mut b, 0x36, &56u16.to_le_bytes());
        put(&mut b, 0x38, &(phdrs.len() as u16).to_le_bytes());
        for (i, p) in phdrs.iter().enumerate() {
            put(&mut b, 64 + i * 56, p);
        }
        put(&mut b, 0x300, &strings);
        for (i, (t, v)) in dynamic.iter().enumerate() {
            put(&mut b, 0x400 + i * 16, &t.to_le_bytes());
            put(&mut b, 0x408 + i * 16, &v.to_le_bytes());
        }
        b.resize(0x500, 0);
        b
    }

    /// A relocatable ELF64 object (like a kernel module) with these sections.
    pub fn object(machine: u16, sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        ident(&mut b, 1, machine);
        let mut names = vec![0u8];
        let mut entries: Vec<(u32, u64, u64)> = vec![(0, 0, 0)];
        let mut at = 64usize;
        for (name, data) in sections {
            let n = names.len() as u32;
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            put(&mut b, at, data);
            entries.push((n, at as u64, data.len() as u64));
            at += data.len();
        }
        let n = names.len() as u32;
        names.extend_from_slice(b".shstrtab\0");
        put(&mut b, at, &names);
        entries.push((n, at as u64, names.len() as u64));
        at += names.len();
        let shoff = at.div_ceil(8) * 8;
        for (i, (name, off, size)) in entries.iter().enumerate() {
            let s = shoff + i * 64;
            put(&mut b, s, &name.to_le_bytes());
            put(&mut b, s + 24, &off.to_le_bytes());
            put(&mut b, s + 32, &size.to_le_bytes());
            put(&mut b, s + 56, &[0u8; 8]);
        }
        put(&mut b, 0x28, &(shoff as u64).to_le_bytes());
        put(&mut b, 0x3a, &64u16.to_le_bytes());
        put(&mut b, 0x3c, &(entries.len() as u16).to_le_bytes());
        put(&mut b, 0x3e, &((entries.len() - 1) as u16).to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_interpreter_needed_and_runpath() {
        let b = fixture::program(
            62,
            Some("/lib64/ld-linux-x86-64.so.2"),
            &["libfoo.so.1", "libc.so.6"],
            Some("$ORIGIN/../lib:/opt/x"),
        );
        let d = dynamic(b.as_slice()).expect("parsed");
        assert_eq!(d.machine, 62);
        assert_eq!(d.class, 2);
        assert_eq!(d.interp.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(d.needed, ["libfoo.so.1", "libc.so.6"]);
        assert_eq!(d.runpath, ["$ORIGIN/../lib", "/opt/x"]);
    }

    #[test]
    fn reads_a_section_by_name_from_a_file() {
        let b = fixture::object(
            183,
            &[
                (".text", b"\x1f\x20\x03\xd5"),
                (".modinfo", b"license=GPL\0depends=a,b\0"),
            ],
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.ko");
        std::fs::write(&p, &b).expect("write");
        let f = File::open(&p).expect("open");
        assert_eq!(
            section(&f, ".modinfo").expect("parsed").as_deref(),
            Some(&b"license=GPL\0depends=a,b\0"[..])
        );
        assert_eq!(section(&f, ".nothing").expect("parsed"), None);
        assert_eq!(
            section(b.as_slice(), ".text").expect("parsed").as_deref(),
            Some(&b"\x1f\x20\x03\xd5"[..])
        );
    }

    #[test]
    fn real_host_programs_parse() {
        // The host's own shell: a real dynamically linked program.
        let sh = std::fs::canonicalize("/bin/sh").expect("/bin/sh");
        let f = File::open(&sh).expect("open");
        let d = dynamic(&f).expect("parsed");
        assert!(d.interp.as_deref().is_some_and(|i| i.contains("ld-")), "{d:?}");
        assert!(d.needed.iter().any(|n| n.starts_with("libc.so")), "{d:?}");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(dynamic(&b"#!/bin/sh\n"[..]).is_err());
        let mut b = fixture::program(62, None, &["libc.so.6"], None);
        b.truncate(0x420);
        assert!(dynamic(b.as_slice()).is_err());
        b[5] = 2;
        assert!(
            dynamic(b.as_slice())
                .expect_err("big-endian")
                .contains("big-endian")
        );
        for n in 0..200 {
            let _ = dynamic(&b[..n]);
            let _ = section(&b[..n], ".modinfo");
        }
    }
}
