//! SMTP dialogue: arbitrary server bytes must never panic; the dialogue
//! only ever asks to send HELO then QUIT.
#![no_main]
use check::smtp::{SmtpDialogue, SmtpStep};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut d = SmtpDialogue::new("fuzz.example");
    let mut sent = Vec::new();
    for c in rest.chunks(usize::from(first % 32) + 1) {
        match d.feed(c) {
            Ok(SmtpStep::Send(b)) => sent.push(b),
            Ok(SmtpStep::Done) => break,
            Ok(SmtpStep::NeedMore) => {}
            Err(_) => break,
        }
    }
    let _ = d.eof();
    assert!(sent.len() <= 2);
    if let Some(first) = sent.first() {
        assert_eq!(first, b"HELO fuzz.example\r\n");
    }
});
