//! Filesystem images of the root: ext4, erofs, squashfs.

use std::path::Path;

use super::{Format, FormatError, FormatInput};

pub(super) fn write_ext4(_input: &FormatInput, _out: &Path) -> Result<(), FormatError> {
    Err(FormatError::Input {
        format: Format::Ext4,
        message: "not written yet".into(),
    })
}
pub(super) fn write_erofs(_input: &FormatInput, _out: &Path) -> Result<(), FormatError> {
    Err(FormatError::Input {
        format: Format::Erofs,
        message: "not written yet".into(),
    })
}
pub(super) fn write_squashfs(_input: &FormatInput, _out: &Path) -> Result<(), FormatError> {
    Err(FormatError::Input {
        format: Format::Squashfs,
        message: "not written yet".into(),
    })
}
