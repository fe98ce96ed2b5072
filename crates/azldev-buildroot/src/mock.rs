//! Mock configuration files read without Python or mock (see `mock/`).
