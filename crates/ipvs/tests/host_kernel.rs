//! On a kernel without IPVS (like the build hosts of this project), opening
//! the client must fail with the typed "not available" error, not a panic or
//! a generic socket error. Skipped where IPVS exists.

use keepalived_ipvs::{Ipvs, IpvsError};

#[test]
fn open_without_ipvs_is_not_available() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("skipped: this kernel has IPVS (the guest tests cover it)");
        return;
    }
    match Ipvs::open() {
        Err(e @ IpvsError::NotAvailable { .. }) => {
            assert_eq!(e.errno(), Some(2), "ENOENT from the genl controller");
            assert_eq!(
                e.keepalived_log_line(),
                "IPVS: Can't initialize ipvs: No such file or directory"
            );
        }
        Err(IpvsError::Socket(e)) => eprintln!("skipped: no generic netlink socket here: {e}"),
        other => panic!("expected NotAvailable, got {other:?}"),
    }
}
