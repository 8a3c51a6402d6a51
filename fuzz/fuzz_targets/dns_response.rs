//! DNS_CHECK response check: arbitrary datagrams must never panic.
#![no_main]
use check::dns::{check_response, DnsVerdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let id = data.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])).unwrap_or(0);
    let v = check_response(id, data);
    if data.len() < 12 {
        assert_eq!(v, DnsVerdict::Ignore);
    }
});
