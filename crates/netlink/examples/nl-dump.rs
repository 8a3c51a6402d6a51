//! Prints links, addresses, routes and rules of the current network
//! namespace as this crate decodes them (a debugging aid):
//! `ip netns exec NS target/debug/examples/nl-dump`.

use keepalived_netlink::{Family, Rtnl};

fn main() -> Result<(), keepalived_netlink::Error> {
    let rt = Rtnl::new()?;
    for l in rt.links()? {
        println!("{l:?}");
    }
    for a in rt.addresses(None, None)? {
        println!("{a:?}");
    }
    for f in [Family::V4, Family::V6] {
        for r in rt.routes(f)? {
            println!("{r:?}");
        }
        for r in rt.rules(f)? {
            println!("{r:?}");
        }
    }
    Ok(())
}
