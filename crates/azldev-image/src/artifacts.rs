//! Release artefacts beside each image: package manifest, SPDX SBOM, size report and budget, signatures.
