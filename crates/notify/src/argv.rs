//! Splitting a configured script line into an argument vector.
//!
//! keepalived re-reads the script string with its "quoted and escaped" word
//! splitter (`alloc_strvec_quoted_escaped`, `lib/parser.c`), so
//! `notify "/etc/keepalived/n.sh 'two words' x\ y"` gives the three arguments
//! `/etc/keepalived/n.sh`, `two words`, `x y`. The rules reproduced here:
//!
//! * words are separated by runs of white space (space, tab, CR, LF, FF, VT);
//! * `"` and `'` open a quoted run that ends at the same quote character; the
//!   quotes are removed and quoted runs join their neighbours (`a"b c"d` is
//!   one word `ab cd`);
//! * a backslash escapes the next character **inside and outside quotes**
//!   (unlike a POSIX shell, where `'\n'` stays two characters): `\n \t \r \a
//!   \b \f \v \E`, `\xHH…`, octal `\NNN` (up to 3 digits), `\cX` (control
//!   character), any other character stands for itself;
//! * a missing closing quote or a trailing lone backslash is an error (upstream
//!   reports the config error and drops the script).

use std::fmt;

/// Why a script line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// A quote was opened and never closed (`"String '%s': missing terminating %c"`).
    UnmatchedQuote {
        /// The line as given.
        line: String,
        /// The quote character left open.
        quote: char,
    },
    /// The line ends with a backslash (`"Missing escape char at end: '%s'"`).
    TrailingBackslash {
        /// The line as given.
        line: String,
    },
    /// The line holds no word at all.
    Empty,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::UnmatchedQuote { line, quote } => {
                write!(f, "String '{line}': missing terminating {quote}")
            }
            SplitError::TrailingBackslash { line } => {
                write!(f, "Missing escape char at end: '{line}'")
            }
            SplitError::Empty => f.write_str("empty script line"),
        }
    }
}

impl std::error::Error for SplitError {}

fn is_white(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{0c}' | '\u{0b}')
}

/// Splits `line` into words the way keepalived splits a script string.
///
/// Bytes produced by escapes (`\x80`…) that are not valid UTF-8 on their own
/// are kept as the corresponding `char` (U+0080…U+00FF); script arguments are
/// in practice ASCII.
pub fn split_script_line(line: &str) -> Result<Vec<String>, SplitError> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && is_white(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                i += 1;
                if i >= chars.len() {
                    return Err(SplitError::TrailingBackslash {
                        line: line.to_string(),
                    });
                }
                let (ch, used) = unescape(&chars[i..]);
                word.push(ch);
                i += used;
                continue;
            }
            match quote {
                Some(q) if c == q => {
                    quote = None;
                    i += 1;
                }
                Some(_) => {
                    word.push(c);
                    i += 1;
                }
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    i += 1;
                }
                None if is_white(c) => break,
                None => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        if let Some(q) = quote {
            return Err(SplitError::UnmatchedQuote {
                line: line.to_string(),
                quote: q,
            });
        }
        words.push(word);
    }
    if words.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(words)
}

/// Decodes one escape; `s` starts just after the backslash and is non-empty.
/// Returns the character and how many input characters it used.
fn unescape(s: &[char]) -> (char, usize) {
    let c = s[0];
    if c == 'x' && s.get(1).is_some_and(|d| d.is_ascii_hexdigit()) {
        // Upstream accumulates every following hex digit into one byte.
        let mut v: u8 = 0;
        let mut n = 1;
        while let Some(d) = s.get(n).and_then(|d| d.to_digit(16)) {
            v = (v << 4) | d as u8;
            n += 1;
        }
        return (char::from(v), n);
    }
    if c == 'c' && s.len() > 1 {
        return (char::from((s[1] as u32 & 0x1f) as u8), 2);
    }
    if ('0'..='7').contains(&c) {
        let mut v: u32 = c as u32 - '0' as u32;
        let mut n = 1;
        while n < 3 {
            match s.get(n) {
                Some(&d) if ('0'..='7').contains(&d) => {
                    v = (v << 3) + (d as u32 - '0' as u32);
                    n += 1;
                }
                _ => break,
            }
        }
        return (char::from((v & 0xff) as u8), n);
    }
    let ch = match c {
        'a' => '\u{07}',
        'b' => '\u{08}',
        'E' => '\u{1b}',
        'f' => '\u{0c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{0b}',
        other => other,
    };
    (ch, 1)
}

/// Quotes an argument vector into one `/bin/sh -c` command string.
///
/// keepalived (`cmd_str_r`) wraps every word in single quotes, except a first
/// word starting with `<` or `>` (the "file existence test" idiom
/// `</dev/tcp/127.0.0.1/80`). Unlike upstream, a single quote inside a word
/// is escaped (`'\''`) so the word cannot break out of its quoting.
pub fn shell_command(argv: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
            out.push_str(a);
            continue;
        }
        out.push('\'');
        out.push_str(&a.replace('\'', "'\\''"));
        out.push('\'');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn plain_words() {
        assert_eq!(
            split_script_line("  /bin/check.sh  a\tb ").unwrap(),
            s(&["/bin/check.sh", "a", "b"])
        );
    }

    #[test]
    fn quotes_and_joins() {
        assert_eq!(
            split_script_line(r#"/x 'two words' "dq 'in'" a"b c"d"#).unwrap(),
            s(&["/x", "two words", "dq 'in'", "ab cd"])
        );
    }

    #[test]
    fn escapes_everywhere() {
        assert_eq!(
            split_script_line(r"/x a\ b 'c\td' \x41\102 \cA").unwrap(),
            s(&["/x", "a b", "c\td", "AB", "\u{1}"])
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            split_script_line("/x 'open"),
            Err(SplitError::UnmatchedQuote {
                line: "/x 'open".into(),
                quote: '\''
            })
        );
        assert!(matches!(
            split_script_line("/x a\\"),
            Err(SplitError::TrailingBackslash { .. })
        ));
        assert_eq!(split_script_line("   "), Err(SplitError::Empty));
        assert_eq!(
            SplitError::UnmatchedQuote {
                line: "a\"".into(),
                quote: '"'
            }
            .to_string(),
            "String 'a\"': missing terminating \""
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_command(&s(&["</dev/tcp/127.0.0.1/80"])),
            "</dev/tcp/127.0.0.1/80"
        );
        assert_eq!(
            shell_command(&s(&["/x", "it's", "b"])),
            r"'/x' 'it'\''s' 'b'"
        );
    }
}
