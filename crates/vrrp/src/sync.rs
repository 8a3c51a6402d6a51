//! `vrrp_sync_group`: members move together (keepalived 2.2.7
//! `vrrp/vrrp_sync.c` and the transition matrix in `vrrp_scheduler.c`).
//!
//! Sans-IO like the rest: the daemon keeps one [`SyncGroup`] per group and,
//! after every [`Instance::handle`] call on a member, passes that member's
//! actions to [`SyncGroup::observe`]. It returns what to do for the group
//! (log lines, group notify) and the actions produced by driving the other
//! members, which the daemon performs like any other instance actions.
//!
//! Rules (2.2.7):
//! * A member whose down timer expires asks ([`Action::SyncWantMaster`]);
//!   it may go MASTER only if the group is MASTER or every other member
//!   wants MASTER too (`vrrp_sync_can_goto_master`).
//! * A member becoming MASTER pulls the others to MASTER
//!   ("Syncing instances to MASTER state").
//! * A member leaving MASTER for BACKUP pushes the others to BACKUP.
//! * A member entering FAULT puts the others in FAULT; when no member is
//!   in FAULT of its own any more, the others come back.

use crate::action::{Action, Input, State};
use crate::instance::Instance;
use crate::time::Instant;

/// What the group itself does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    /// Log a line (`VRRP_Group(G) Syncing instances to MASTER state`).
    Log(String),
    /// Run the group's notify scripts for this state
    /// (`notify GROUP NAME STATE PRIO` etc.).
    Notify(State),
    /// Actions for member `index` (into the slice given to `observe`).
    Member(usize, Vec<Action>),
}

/// The state of one sync group.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    name: String,
    state: State,
}

impl SyncGroup {
    /// A group named `name`, starting BACKUP.
    pub fn new(name: &str) -> Self {
        SyncGroup {
            name: name.to_owned(),
            state: State::Backup,
        }
    }

    /// The group's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Processes the actions `actions` that member `who` just produced
    /// (call it after every input given to a member, even when `actions` is
    /// empty). `members` are the group's instances, always in the same order.
    pub fn observe(
        &mut self,
        now: Instant,
        members: &mut [&mut Instance],
        who: usize,
        actions: &[Action],
    ) -> Vec<GroupAction> {
        let mut out = Vec::new();
        if who >= members.len() {
            return out;
        }
        for a in actions {
            match a {
                Action::SyncWantMaster => {
                    let others_want = members.iter().enumerate().all(|(i, m)| {
                        i == who || m.wantstate() == State::Master || m.state() == State::Master
                    });
                    if self.state == State::Master || others_want {
                        let acts = members[who].handle(now, Input::SyncGoMaster);
                        out.push(GroupAction::Member(who, acts));
                        self.sync_master(now, members, who, &mut out);
                    }
                }
                Action::StateChanged {
                    to: State::Master, ..
                } => self.sync_master(now, members, who, &mut out),
                Action::StateChanged {
                    from: State::Master,
                    to: State::Backup,
                } => self.sync_backup(now, members, who, &mut out),
                _ => {}
            }
        }
        // FAULT: one member down (for its own reasons) holds the whole group
        // in FAULT (keepalived num_member_fault / num_member_init).
        let any_fault = members.iter().any(|m| m.own_fault());
        if any_fault && self.state != State::Fault {
            out.push(GroupAction::Log(format!(
                "VRRP_Group({}) Syncing instances to FAULT state",
                self.name
            )));
            self.state = State::Fault;
            // Every member is held (also the faulted ones, so that the first
            // to recover stays in FAULT until the group recovers).
            for (i, m) in members.iter_mut().enumerate() {
                let acts = m.handle(now, Input::SyncFault(true));
                if !acts.is_empty() {
                    out.push(GroupAction::Member(i, acts));
                }
            }
            out.push(GroupAction::Notify(State::Fault));
        } else if any_fault {
            // A member recovered on its own while another is still down:
            // keep it in FAULT too.
            for (i, m) in members.iter_mut().enumerate() {
                if !m.own_fault() && m.state() != State::Fault {
                    let acts = m.handle(now, Input::SyncFault(true));
                    out.push(GroupAction::Member(i, acts));
                }
            }
        } else if self.state == State::Fault {
            for (i, m) in members.iter_mut().enumerate() {
                let acts = m.handle(now, Input::SyncFault(false));
                if !acts.is_empty() {
                    out.push(GroupAction::Member(i, acts));
                }
            }
            if members.iter().any(|m| m.state() == State::Master) {
                self.state = State::Backup;
                self.sync_master(now, members, who, &mut out);
            } else {
                out.push(GroupAction::Log(format!(
                    "VRRP_Group({}) Syncing instances to BACKUP state",
                    self.name
                )));
                self.state = State::Backup;
                out.push(GroupAction::Notify(State::Backup));
            }
        }
        out
    }

    fn sync_master(
        &mut self,
        now: Instant,
        members: &mut [&mut Instance],
        who: usize,
        out: &mut Vec<GroupAction>,
    ) {
        if self.state == State::Master {
            return;
        }
        out.push(GroupAction::Log(format!(
            "VRRP_Group({}) Syncing instances to MASTER state",
            self.name
        )));
        self.state = State::Master;
        for (i, m) in members.iter_mut().enumerate() {
            if i != who && m.state() == State::Backup {
                let acts = m.handle(now, Input::SyncGoMaster);
                out.push(GroupAction::Member(i, acts));
            }
        }
        out.push(GroupAction::Notify(State::Master));
    }

    fn sync_backup(
        &mut self,
        now: Instant,
        members: &mut [&mut Instance],
        who: usize,
        out: &mut Vec<GroupAction>,
    ) {
        if self.state == State::Backup {
            return;
        }
        out.push(GroupAction::Log(format!(
            "VRRP_Group({}) Syncing instances to BACKUP state",
            self.name
        )));
        self.state = State::Backup;
        for (i, m) in members.iter_mut().enumerate() {
            if i != who && m.state() == State::Master {
                let acts = m.handle(now, Input::SyncGoBackup);
                out.push(GroupAction::Member(i, acts));
            }
        }
        out.push(GroupAction::Notify(State::Backup));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InstanceConfig;
    use crate::wire::Family;

    fn member(name: &str, vrid: u8) -> Instance {
        let mut c = InstanceConfig::new(name, vrid, Family::V4);
        c.src_addr = Some("192.0.2.1".parse().unwrap());
        c.vips = vec!["192.0.2.100".parse().unwrap()];
        c.sync_group = true;
        Instance::new(c)
    }

    fn lines(g: &[GroupAction]) -> Vec<String> {
        g.iter()
            .flat_map(|a| match a {
                GroupAction::Log(l) => vec![format!("group: {l}")],
                GroupAction::Notify(s) => vec![format!("group notify {s}")],
                GroupAction::Member(i, acts) => acts.iter().map(|x| format!("[{i}] {x}")).collect(),
            })
            .collect()
    }

    #[test]
    fn members_move_together() {
        let mut a = member("VI_1", 1);
        let mut b = member("VI_2", 2);
        let mut g = SyncGroup::new("G1");
        let t0 = Instant::ZERO;
        a.handle(t0, Input::Startup);
        b.handle(t0, Input::Startup);
        let t = Instant::from_micros(3_609_375);
        // a times out first; b does not want MASTER yet: a waits.
        let acts = a.handle(t, Input::TimerExpired(crate::TimerKind::MasterDown));
        let out = g.observe(t, &mut [&mut a, &mut b], 0, &acts);
        assert!(out.is_empty());
        assert_eq!(a.state(), State::Backup);
        // b times out: everyone wants MASTER, both go.
        let acts = b.handle(t, Input::TimerExpired(crate::TimerKind::MasterDown));
        let out = g.observe(t, &mut [&mut a, &mut b], 1, &acts);
        let l = lines(&out);
        assert!(
            l.contains(&"group: VRRP_Group(G1) Syncing instances to MASTER state".to_owned()),
            "{l:#?}"
        );
        assert!(
            l.contains(&"[0] log (VI_1) Entering MASTER STATE".to_owned()),
            "{l:#?}"
        );
        assert_eq!(
            (a.state(), b.state(), g.state()),
            (State::Master, State::Master, State::Master)
        );
        // b's interface goes down: the group goes FAULT; a sends one priority 0.
        let t2 = Instant::from_micros(5_000_000);
        let acts = b.handle(t2, Input::Interface { up: false });
        let out = g.observe(t2, &mut [&mut a, &mut b], 1, &acts);
        let l = lines(&out);
        assert_eq!(
            l.iter()
                .filter(|x| x.starts_with("[0] send-advert prio=0"))
                .count(),
            1,
            "{l:#?}"
        );
        assert!(l.contains(&"group: VRRP_Group(G1) Syncing instances to FAULT state".to_owned()));
        assert_eq!((a.state(), b.state()), (State::Fault, State::Fault));
        // b back up: both BACKUP.
        let t3 = Instant::from_micros(6_000_000);
        let acts = b.handle(t3, Input::Interface { up: true });
        let out = g.observe(t3, &mut [&mut a, &mut b], 1, &acts);
        let l = lines(&out);
        assert!(
            l.contains(&"[0] log (VI_1) Entering BACKUP STATE".to_owned()),
            "{l:#?}"
        );
        assert!(
            l.contains(&"group: VRRP_Group(G1) Syncing instances to BACKUP state".to_owned()),
            "{l:#?}"
        );
        assert_eq!(
            (a.state(), b.state(), g.state()),
            (State::Backup, State::Backup, State::Backup)
        );

        // Both fault on their own; the first to recover stays in FAULT until
        // the other one recovers too.
        let t4 = Instant::from_micros(7_000_000);
        let acts = a.handle(t4, Input::Interface { up: false });
        g.observe(t4, &mut [&mut a, &mut b], 0, &acts);
        let acts = b.handle(t4, Input::Interface { up: false });
        g.observe(t4, &mut [&mut a, &mut b], 1, &acts);
        assert_eq!(
            (a.state(), b.state(), g.state()),
            (State::Fault, State::Fault, State::Fault)
        );
        let acts = a.handle(t4, Input::Interface { up: true });
        g.observe(t4, &mut [&mut a, &mut b], 0, &acts);
        assert_eq!(
            (a.state(), b.state(), g.state()),
            (State::Fault, State::Fault, State::Fault)
        );
        assert!(acts.is_empty(), "no transient BACKUP: {acts:?}");
        let acts = b.handle(t4, Input::Interface { up: true });
        g.observe(t4, &mut [&mut a, &mut b], 1, &acts);
        assert_eq!(
            (a.state(), b.state(), g.state()),
            (State::Backup, State::Backup, State::Backup)
        );
    }
}
