//! HTTP response parser: arbitrary bytes, split into chunks at arbitrary
//! points (first byte picks the chunk size), must never panic, and the
//! result must not depend on how the stream was split.
#![no_main]
use check::http::{self, ResponseParser, StatusCodes, UrlCheck};
use libfuzzer_sys::fuzz_target;

fn parse(data: &[u8], chunk: usize) -> Result<http::HttpResponse, http::HttpParseError> {
    let mut p = ResponseParser::new(true, 64 * 1024);
    for c in data.chunks(chunk) {
        p.feed(c)?;
    }
    p.finish()
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let a = parse(rest, chunk);
    let b = parse(rest, rest.len().max(1));
    assert_eq!(a, b, "result depends on chunking");
    let url = UrlCheck {
        path: "/".into(),
        status_codes: StatusCodes::default(),
        digest: Some([0; 16]),
        virtualhost: None,
    };
    let _ = http::evaluate(&url, a.as_ref());
});
