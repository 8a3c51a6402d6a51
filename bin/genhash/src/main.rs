//! `genhash`: print the MD5 digest of a web page for an HTTP_GET/SSL_GET
//! `digest` line. See the library for the behaviour.

fn main() {
    std::process::exit(genhash::run(std::env::args_os().collect()));
}
