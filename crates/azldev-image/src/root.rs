//! Root trees: packages installed with dnf into a fresh root, scripts run, caches removed, timestamps clamped.
