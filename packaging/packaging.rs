//! Packaging manifest holder for keepalived-rs.
//!
//! This crate has no code. Its `Cargo.toml` carries the cargo-deb and
//! cargo-generate-rpm metadata for the `keepalived` packages, so the
//! packaging description lives with the packaging files instead of inside a
//! binary crate's manifest. It is its own (empty) workspace and is never
//! built; `packaging/build.sh` builds the binaries in the main workspace and
//! points both tools at this manifest.
