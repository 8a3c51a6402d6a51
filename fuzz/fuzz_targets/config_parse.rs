//! Configuration lexer + reader + typed parser (`config::load`, the only
//! public entry point: the lexer is private). The input is written to a
//! file in a private scratch directory and loaded from there, so relative
//! `include`s resolve inside that directory. Must never panic and must
//! give every diagnostic a location.
//!
//! Input layout: byte 0 bit 0 selects `--lenient`; the rest is the file.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::config_parse(data));
