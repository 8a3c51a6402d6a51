//! `cargo run -p keepalived-config --example kcheck -- FILE [CONFIG_ID]`: print
//! diagnostics like `keepalived -t` (exit 0 clean, 1 errors, 2 warnings only).

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "/etc/keepalived/keepalived.conf".into());
    let opts = keepalived_config::LoadOptions {
        path: path.into(),
        config_id: args.next(),
        lenient: false,
    };
    let t = std::time::Instant::now();
    let r = keepalived_config::load(&opts);
    let el = t.elapsed();
    let (code, diags) = match &r {
        Ok(l) if l.diagnostics.is_empty() => (0, &l.diagnostics),
        Ok(l) => (2, &l.diagnostics),
        Err(f) => (1, &f.diagnostics),
    };
    for d in diags {
        eprintln!("{d}");
    }
    if let Ok(l) = &r {
        eprintln!(
            "loaded in {:?}: {} vrrp_instance, {} virtual_server, {} real_server",
            el,
            l.config.vrrp_instances.len(),
            l.config.virtual_servers.len(),
            l.config
                .virtual_servers
                .iter()
                .map(|v| v.real_servers.len())
                .sum::<usize>()
        );
    }
    std::process::exit(code);
}
