//! Parent and child ends of the IPC, in one process (ipc-channel does not
//! care whether the peer is another process).

use config::Config;
use keepalived_ipc::{
    ChildEvent, ChildLink, ChildServer, ConfigPayload, DumpKind, FromChild, Received, Role, ToChild,
};
use sched::{Event, Sched};
use std::time::{Duration, Instant};

fn wait_until<T>(s: &mut Sched, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out");
        let mut out = Vec::new();
        s.wait(&mut out, Some(Duration::from_millis(50))).unwrap();
    }
}

#[test]
fn bootstrap_config_heartbeat_reload_dump_close() {
    let mut parent_loop = Sched::new().unwrap();
    let mut server = ChildServer::listen(parent_loop.waker()).unwrap();
    let name = server.name().to_string();

    // The "child": connect and receive the initial config on another thread.
    let child = std::thread::spawn(move || {
        let mut child_loop = Sched::new().unwrap();
        let (mut link, cfg, generation) =
            ChildLink::connect(&name, Role::Vrrp, child_loop.waker()).unwrap();
        assert_eq!(*cfg, Config::default());
        assert_eq!(generation, 1);
        link.loaded(generation).unwrap();
        // Heartbeats are answered inside poll(); the first event we see is the reload.
        let ev = wait_until(&mut child_loop, || link.poll());
        match ev {
            ChildEvent::Reload { generation, .. } => {
                assert_eq!(generation, 2);
                link.reload_result(2, Err("refused for the test".into()))
                    .unwrap();
            }
            other => panic!("expected reload, got {other:?}"),
        }
        let ev = wait_until(&mut child_loop, || link.poll());
        assert!(matches!(ev, ChildEvent::Dump(DumpKind::Json)), "{ev:?}");
        let ev = wait_until(&mut child_loop, || link.poll());
        assert!(matches!(ev, ChildEvent::Shutdown), "{ev:?}");
        // Dropping the link closes the parent's receiver.
    });

    let mut link = wait_until(&mut parent_loop, || server.try_accept()).unwrap();
    assert_eq!(link.role, Role::Vrrp);
    assert_eq!(link.pid, std::process::id());
    let payload = || ConfigPayload::encode(&Config::default()).unwrap();
    link.send(ToChild::Config {
        config: payload(),
        generation: 1,
    })
    .unwrap();
    let m = wait_until(&mut parent_loop, || link.try_recv());
    assert!(
        matches!(m, Received::Msg(FromChild::Loaded { generation: 1 })),
        "{m:?}"
    );

    link.send(ToChild::Heartbeat(7)).unwrap();
    let m = wait_until(&mut parent_loop, || link.try_recv());
    assert!(
        matches!(m, Received::Msg(FromChild::HeartbeatAck(7))),
        "{m:?}"
    );

    link.send(ToChild::Reload {
        config: payload(),
        generation: 2,
    })
    .unwrap();
    let m = wait_until(&mut parent_loop, || link.try_recv());
    match m {
        Received::Msg(FromChild::ReloadResult {
            generation: 2,
            result: Err(e),
        }) => assert_eq!(e, "refused for the test"),
        other => panic!("{other:?}"),
    }
    link.send(ToChild::Dump(DumpKind::Json)).unwrap();
    link.send(ToChild::Shutdown).unwrap();
    child.join().unwrap();
    let m = wait_until(&mut parent_loop, || link.try_recv());
    assert!(matches!(m, Received::Closed(_)), "{m:?}");
    assert!(link.is_closed());
}

#[test]
fn parent_gone_is_seen_by_the_child() {
    let mut parent_loop = Sched::new().unwrap();
    let mut server = ChildServer::listen(parent_loop.waker()).unwrap();
    let name = server.name().to_string();
    let child = std::thread::spawn(move || {
        let mut child_loop = Sched::new().unwrap();
        let (mut link, _, _) =
            ChildLink::connect(&name, Role::Checker, child_loop.waker()).unwrap();
        let ev = wait_until(&mut child_loop, || link.poll());
        assert!(matches!(ev, ChildEvent::ParentGone(_)), "{ev:?}");
    });
    let link = wait_until(&mut parent_loop, || server.try_accept()).unwrap();
    assert_eq!(link.role, Role::Checker);
    link.send(ToChild::Config {
        config: ConfigPayload::encode(&Config::default()).unwrap(),
        generation: 1,
    })
    .unwrap();
    drop(link);
    child.join().unwrap();
}

#[test]
fn abort_ends_the_accept_thread() {
    let mut parent_loop = Sched::new().unwrap();
    let server = ChildServer::listen(parent_loop.waker()).unwrap();
    server.abort();
    // Nothing to assert beyond "does not hang": the accept thread got Abort.
    let mut out = Vec::new();
    parent_loop
        .wait(&mut out, Some(Duration::from_millis(200)))
        .unwrap();
    assert!(out.iter().all(|e| matches!(e, Event::Wake)));
}

#[test]
fn dump_signals_match_keepalived_2_2_7() {
    // `keepalived --signum=JSON` prints 36, `--signum=STATS_CLEAR` 63 (glibc).
    assert_eq!(DumpKind::Json.signal(), 36);
    assert_eq!(DumpKind::StatsClear.signal(), 63);
    assert_eq!(DumpKind::Data.signal(), 10);
    assert_eq!(DumpKind::Stats.signal(), 12);
    assert_eq!(DumpKind::from_signal(36), Some(DumpKind::Json));
    assert!(DumpKind::Data.forwarded_to(Role::Checker));
    assert!(!DumpKind::Stats.forwarded_to(Role::Checker));
    assert!(DumpKind::Json.forwarded_to(Role::Vrrp));
}
