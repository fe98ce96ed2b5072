//! OCI image layout (a directory) and `oci-archive` (the layout as one tar):
//! one gzip layer of the root, the image config (containerconfig), a
//! manifest and `index.json` whose `org.opencontainers.image.ref.name` is the
//! tag, so `skopeo inspect oci:DIR:TAG` and `umoci unpack --image DIR:TAG`
//! find it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use azldev_buildroot::arch::Arch;
use flate2::Compression;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::util::{self, Scratch, hex};
use super::{FormatError, FormatInput};

pub(crate) const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Gzip level of the layer. Measured on a 480 MB root (flate2's
/// miniz_oxide, 2 cores shared with other jobs, load 7–10): level 6 53 s /
/// 178 MB, level 3 23 s / 182 MB, level 2 10.5 s / 189 MB, level 1 4.9 s /
/// 212 MB.
const LEVEL: u32 = 2;

/// Default `PATH` when the containerconfig sets none (as `docker build` does).
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A writer that hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hashing<W: Write>(inner: W) -> Hashing<W> {
    Hashing {
        inner,
        hash: Sha256::new(),
        len: 0,
    }
}

/// Bytes of the root tar stream in each gzip member.
const GZ_CHUNK: usize = 4 << 20;
/// Members compressed at once (in parallel).
const GZ_BATCH: usize = 8;

/// A gzip writer that compresses fixed 4 MiB pieces of its input as
/// separate gzip members, in parallel (a multi-member gzip file, which
/// every gzip reader, Go's included, reads as one stream). The pieces are
/// cut at fixed offsets, so the bytes do not depend on the thread count.
struct ParallelGz<W: Write> {
    out: W,
    buf: Vec<u8>,
    members: u64,
}

impl<W: Write> ParallelGz<W> {
    fn new(out: W) -> Self {
        ParallelGz {
            out,
            buf: Vec::with_capacity(GZ_CHUNK * GZ_BATCH),
            members: 0,
        }
    }

    fn member(piece: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(Vec::with_capacity(piece.len() / 2), Compression::new(LEVEL));
        gz.write_all(piece)?;
        gz.finish()
    }

    /// Compresses and writes the first `len` bytes of the buffer.
    fn flush_pieces(&mut self, len: usize) -> std::io::Result<()> {
        use rayon::prelude::*;
        let compressed: Vec<std::io::Result<Vec<u8>>> =
            self.buf[..len].par_chunks(GZ_CHUNK).map(Self::member).collect();
        for c in compressed {
            self.out.write_all(&c?)?;
            self.members += 1;
        }
        self.buf.drain(..len);
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<W> {
        if !self.buf.is_empty() || self.members == 0 {
            let len = self.buf.len();
            if len == 0 {
                let empty = Self::member(&[])?;
                self.out.write_all(&empty)?;
            } else {
                self.flush_pieces(len)?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelGz<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        let batch = GZ_CHUNK * GZ_BATCH;
        while self.buf.len() >= batch {
            self.flush_pieces(batch)?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// OCI's names of our architectures.
pub(crate) fn oci_arch(arch: Arch) -> &'static str {
    arch.deb()
}

struct Blob {
    digest: String,
    size: u64,
}

/// Writes `bytes` as a blob of the layout.
fn put_blob(blobs: &Path, bytes: &[u8]) -> Result<Blob, FormatError> {
    let digest = hex(&Sha256::digest(bytes));
    let path = blobs.join(&digest);
    std::fs::write(&path, bytes).map_err(FormatError::io(&path))?;
    Ok(Blob {
        digest: format!("sha256:{digest}"),
        size: bytes.len() as u64,
    })
}

/// The layer: the root as a tar stream, gzip-compressed (no name, mtime 0,
/// so the bytes depend on the content only). Returns (blob, diff_id).
fn write_layer(input: &FormatInput, blobs: &Path) -> Result<(Blob, String), FormatError> {
    let tmp = blobs.join(".layer.tmp");
    let f = File::create(&tmp).map_err(FormatError::io(&tmp))?;
    let compressed = hashing(BufWriter::with_capacity(1 << 20, f));
    let gz = ParallelGz::new(compressed);
    let plain = hashing(gz);
    let (plain, _) = super::tar::write_tar(input.root, input.source_date_epoch, plain)?;
    let diff_id = format!("sha256:{}", hex(&plain.hash.finalize()));
    let mut compressed = plain.inner.finish().map_err(FormatError::io(&tmp))?;
    compressed.flush().map_err(FormatError::io(&tmp))?;
    let digest = hex(&compressed.hash.finalize());
    let size = compressed.len;
    let mut f = compressed.inner.into_inner().map_err(|e| FormatError::Io {
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    f.flush().map_err(FormatError::io(&tmp))?;
    let path = blobs.join(&digest);
    std::fs::rename(&tmp, &path).map_err(FormatError::io(&path))?;
    Ok((
        Blob {
            digest: format!("sha256:{digest}"),
            size,
        },
        diff_id,
    ))
}

fn descriptor(media_type: &str, blob: &Blob) -> Value {
    json!({ "mediaType": media_type, "digest": blob.digest, "size": blob.size })
}

/// The image config's `config` object from the containerconfig.
fn container_config(input: &FormatInput) -> Value {
    let c = input.container;
    let mut m = serde_json::Map::new();
    if let Some(u) = &c.user {
        m.insert("User".into(), json!(u));
    }
    if !c.exposed_ports.is_empty() {
        let ports: BTreeMap<String, Value> = c
            .exposed_ports
            .iter()
            .map(|p| {
                let p = if p.contains('/') {
                    p.clone()
                } else {
                    format!("{p}/tcp")
                };
                (p, json!({}))
            })
            .collect();
        m.insert("ExposedPorts".into(), json!(ports));
    }
    let mut env = c.env.clone();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_string());
    }
    m.insert("Env".into(), json!(env));
    if !c.entrypoint.is_empty() {
        m.insert("Entrypoint".into(), json!(c.entrypoint));
    }
    if !c.cmd.is_empty() {
        m.insert("Cmd".into(), json!(c.cmd));
    }
    if let Some(w) = &c.working_dir {
        m.insert("WorkingDir".into(), json!(w));
    }
    if !c.labels.is_empty() {
        let labels: BTreeMap<&str, &str> = c.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        m.insert("Labels".into(), json!(labels));
    }
    Value::Object(m)
}

/// The tag (`org.opencontainers.image.ref.name`) of the image.
pub(crate) fn tag(input: &FormatInput) -> String {
    input.container.tag.clone().unwrap_or_else(|| "latest".into())
}

fn to_bytes(v: &Value) -> Vec<u8> {
    // serde_json keeps insertion order only with `preserve_order`; the
    // workspace does not enable it, so objects are sorted by key: stable.
    serde_json::to_vec(v).expect("a JSON value serialises")
}

/// Writes an OCI image layout into the directory `out` (created).
pub(super) fn write_layout(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    let blobs = out.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).map_err(FormatError::io(&blobs))?;
    let (layer, diff_id) = write_layer(input, &blobs)?;
    let created = util::rfc3339(input.source_date_epoch);
    let arch = oci_arch(input.arch);
    let mut config = json!({
        "created": created,
        "architecture": arch,
        "os": "linux",
        "config": container_config(input),
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{
            "created": created,
            "created_by": format!("azldev image build {}", input.name),
            "comment": "root tree installed from RPM repositories",
        }],
    });
    if input.arch == Arch::Aarch64 {
        config["variant"] = json!("v8");
    }
    let config = put_blob(&blobs, &to_bytes(&config))?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(CONFIG_TYPE, &config),
        "layers": [descriptor(LAYER_TYPE, &layer)],
        "annotations": {
            "org.opencontainers.image.created": created,
            "org.opencontainers.image.title": input.name,
        },
    });
    let manifest = put_blob(&blobs, &to_bytes(&manifest))?;
    let tag = tag(input);
    let name = input
        .container
        .name
        .clone()
        .unwrap_or_else(|| input.name.to_string());
    let mut platform = json!({ "architecture": arch, "os": "linux" });
    if input.arch == Arch::Aarch64 {
        platform["variant"] = json!("v8");
    }
    let mut desc = descriptor(MANIFEST_TYPE, &manifest);
    desc["platform"] = platform;
    desc["annotations"] = json!({
        "org.opencontainers.image.ref.name": tag,
        "io.containerd.image.name": format!("{name}:{tag}"),
    });
    let index = json!({ "schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [desc] });
    let p = out.join("index.json");
    std::fs::write(&p, to_bytes(&index)).map_err(FormatError::io(&p))?;
    let p = out.join("oci-layout");
    std::fs::write(&p, br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(FormatError::io(&p))?;
    Ok(())
}

/// Writes the OCI image layout as one tar archive (`oci-archive:FILE:TAG`).
pub(super) fn write_archive(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    let scratch = Scratch::new(input, "oci-archive")?;
    let layout = scratch.0.join("layout");
    write_layout(input, &layout)?;
    let f = File::create(out).map_err(FormatError::io(out))?;
    let (w, _) = super::tar::write_tar_owned(
        &layout,
        input.source_date_epoch,
        BufWriter::with_capacity(1 << 20, f),
        true,
    )?;
    let mut f = w.into_inner().map_err(|e| FormatError::Io {
        path: out.to_path_buf(),
        source: e.into_error(),
    })?;
    f.flush().map_err(FormatError::io(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gz(data: &[u8], piece: usize) -> Vec<u8> {
        let mut w = ParallelGz::new(Vec::new());
        for c in data.chunks(piece) {
            w.write_all(c).expect("write");
        }
        w.finish().expect("finish")
    }

    #[test]
    fn parallel_gzip_is_one_stream_and_independent_of_write_sizes() {
        let data: Vec<u8> = (0..(GZ_CHUNK * GZ_BATCH + GZ_CHUNK + 12_345))
            .map(|i| (i % 251) as u8 ^ (i / 7919) as u8)
            .collect();
        let a = gz(&data, 1 << 16);
        let b = gz(&data, 999_983);
        assert_eq!(a, b);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&a[..])
            .read_to_end(&mut back)
            .expect("gunzip");
        assert_eq!(back, data);
        let empty = gz(&[], 1);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .expect("gunzip");
        assert!(back.is_empty());
    }
}
