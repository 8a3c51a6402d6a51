#![allow(unsafe_code)]
//! The one place with `unsafe`: thin, documented wrappers over system calls that nix lacks.
