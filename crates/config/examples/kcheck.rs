//! `cargo run -p keepalived-config --example kcheck -- FILE [CONFIG_ID]`: print
//! diagnostics like `keepalived -t` (exit 0 clean, 1 errors, 2 warnings only).
//!
//! `kcheck --bench N FILE`: load FILE N times and print the minimum and
//! median of the load (without freeing the syntax tree, as the daemon's
//! reload does) and of freeing the tree.

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--bench") {
        let n: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20);
        let path = args.get(2).cloned().unwrap_or_default();
        bench(n.max(1), path);
        return;
    }
    let path = if args.is_empty() {
        "/etc/keepalived/keepalived.conf".to_string()
    } else {
        args.remove(0)
    };
    let opts = keepalived_config::LoadOptions {
        path: path.into(),
        config_id: args.first().cloned(),
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

fn bench(n: usize, path: String) {
    let opts = keepalived_config::LoadOptions {
        path: path.into(),
        config_id: None,
        lenient: false,
    };
    let (mut load, mut free) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = std::time::Instant::now();
        let (r, leftovers) = keepalived_config::load_deferred(&opts);
        load.push(t.elapsed().as_secs_f64() * 1e3);
        let t = std::time::Instant::now();
        drop(leftovers);
        free.push(t.elapsed().as_secs_f64() * 1e3);
        drop(r);
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2])
    };
    let (lm, lmed) = stat(&mut load);
    let (fm, fmed) = stat(&mut free);
    println!("load {lm:.1} ms min / {lmed:.1} ms median; tree freed in {fm:.1} / {fmed:.1} ms ({n} runs)");
}
