//! GPT disks (ESP + root partition) and their qcow2, vhd and vhdx forms.

use std::path::Path;

use super::{Format, FormatError, FormatInput};

pub(super) fn write(format: Format, _input: &FormatInput, _out: &Path) -> Result<(), FormatError> {
    Err(FormatError::Input {
        format,
        message: "not written yet".into(),
    })
}
