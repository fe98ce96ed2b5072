//! Output formats, each written from a root tree without loop devices or mounts.
