//! UEFI-bootable ISO images.

use std::path::Path;

use super::{Format, FormatError, FormatInput};

pub(super) fn write(_input: &FormatInput, _out: &Path) -> Result<(), FormatError> {
    Err(FormatError::Input {
        format: Format::Iso,
        message: "not written yet".into(),
    })
}
