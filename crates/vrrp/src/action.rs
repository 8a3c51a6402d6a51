//! What the state machine asks the daemon to do, and what it accepts.

use std::fmt;
use std::net::IpAddr;

use crate::config::{InstanceConfig, TrackKind};
use crate::rx::{LogLevel, RxError, RxPacket};
use crate::time::Instant;
use crate::track::TrackStatus;

/// Protocol state of an instance (keepalived `VRRP_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Created, [`Input::Startup`] not yet received.
    Init,
    /// Backup.
    Backup,
    /// Master.
    Master,
    /// Fault (interface down, weight-0 tracker failing, no address).
    Fault,
    /// Stopped by [`Input::Shutdown`].
    Stopped,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stopped => "STOP",
        })
    }
}

/// The instance's timers. [`Action::ArmTimer`] replaces any pending timer
/// of the same kind; a late or stale expiry is ignored by the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// MASTER: send the next advert.
    Advert,
    /// BACKUP: Master_Down_Interval expired.
    MasterDown,
    /// MASTER: second gratuitous ARP/NA burst after `garp_master_delay`.
    GarpDelay,
    /// MASTER: delayed burst after a lower-priority advert
    /// (`garp_lower_prio_delay`).
    GarpLowerPrio,
}

impl TimerKind {
    pub(crate) const ALL: [TimerKind; 4] = [
        TimerKind::Advert,
        TimerKind::MasterDown,
        TimerKind::GarpDelay,
        TimerKind::GarpLowerPrio,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            TimerKind::Advert => 0,
            TimerKind::MasterDown => 1,
            TimerKind::GarpDelay => 2,
            TimerKind::GarpLowerPrio => 3,
        }
    }

    /// Name used in the replay format.
    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Advert => "advert",
            TimerKind::MasterDown => "master-down",
            TimerKind::GarpDelay => "garp-delay",
            TimerKind::GarpLowerPrio => "garp-lower-prio",
        }
    }

    /// Inverse of [`TimerKind::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Which notify script / FIFO line / SMTP alert to fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyEvent {
    /// `notify_master`.
    Master,
    /// `notify_backup`.
    Backup,
    /// `notify_fault`.
    Fault,
    /// `notify_stop`.
    Stop,
    /// `notify_master_rx_lower_pri`.
    MasterRxLowerPri,
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotifyEvent::Master => "MASTER",
            NotifyEvent::Backup => "BACKUP",
            NotifyEvent::Fault => "FAULT",
            NotifyEvent::Stop => "STOP",
            NotifyEvent::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
        })
    }
}

/// One datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutPacket {
    /// Destination (the group, or one unicast peer).
    pub dst: IpAddr,
    /// IPv4: the complete datagram with the IP header keepalived builds
    /// (send on an `IP_HDRINCL` raw socket). IPv6: the VRRP message with a
    /// zero checksum (send on a raw socket with `IPV6_CHECKSUM` = 6,
    /// hop limit 255, traffic class 0xc0).
    pub data: Vec<u8>,
}

/// A log line in keepalived's wording (without the syslog prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Always logged, or only with `-D`.
    pub level: LogLevel,
    /// The text, e.g. `(VI_1) Entering MASTER STATE`.
    pub text: String,
}

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an advert with this priority to each destination.
    SendAdvert {
        /// Priority in the advert (0 when stopping or faulting).
        priority: u8,
        /// One datagram per destination.
        packets: Vec<OutPacket>,
    },
    /// (Re)arm a timer; call [`Input::TimerExpired`] at `at`.
    ArmTimer {
        /// Which timer.
        kind: TimerKind,
        /// When.
        at: Instant,
    },
    /// Disarm a timer.
    CancelTimer {
        /// Which timer.
        kind: TimerKind,
    },
    /// Add the VIPs, eVIPs, virtual routes and rules (and accept-mode
    /// firewall entries).
    AddVips,
    /// Remove them.
    RemoveVips,
    /// Send `repeat` rounds of gratuitous ARP / unsolicited NA for every
    /// VIP and eVIP (paced by `vrrp_garp_interval` / `vrrp_gna_interval`).
    SendGratuitous {
        /// Number of rounds.
        repeat: u32,
    },
    /// Run notify scripts / FIFO / SMTP for this event.
    Notify(NotifyEvent),
    /// The effective priority changed (`notify_priority_changes`).
    PriorityChanged {
        /// Old effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
    },
    /// The protocol state changed.
    StateChanged {
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
    /// A sync-group member's down timer expired: it wants MASTER but waits
    /// for [`Input::SyncGoMaster`] (sent when every member wants MASTER).
    SyncWantMaster,
    /// A received datagram was rejected. Log `error.log_line(name)`
    /// (through a rate limiter if wanted); counters are already updated.
    Rejected(RxError),
    /// Log a line.
    Log(LogLine),
}

/// What happens to an instance.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// Start: go BACKUP (or FAULT) and arm the down timer.
    Startup,
    /// A datagram for this instance's VRID (see [`crate::wire::peek`]).
    Packet(RxPacket<'a>),
    /// A timer armed by [`Action::ArmTimer`] expired.
    TimerExpired(TimerKind),
    /// The instance's own interface went up or down.
    Interface {
        /// Link/admin up.
        up: bool,
    },
    /// A tracked object changed state.
    Tracker {
        /// Kind of object.
        kind: TrackKind,
        /// Its name as in [`crate::config::TrackConfig::name`].
        name: String,
        /// New status.
        status: TrackStatus,
    },
    /// The source address for adverts (the interface's primary address
    /// when not configured) appeared, changed or went away.
    SourceAddress(Option<IpAddr>),
    /// Sync group: the group goes MASTER (every member wants it); a BACKUP
    /// member goes MASTER now (keepalived `vrrp_sync_master`).
    SyncGoMaster,
    /// Sync group: another member is in FAULT (`true`) or no member is any
    /// more (`false`). While set the instance stays in FAULT.
    SyncFault(bool),
    /// Sync group: another member left MASTER or faulted; go BACKUP.
    SyncGoBackup,
    /// New parameters after SIGHUP for the same instance (same VRID,
    /// family, interface). The state is kept.
    Reload(Box<InstanceConfig>),
    /// Stop: a MASTER sends priority 0 and removes its VIPs.
    Shutdown,
}

impl fmt::Display for Action {
    /// The canonical one-line form used by the replay tests.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::SendAdvert { priority, packets } => {
                write!(f, "send-advert prio={priority} dst=")?;
                for (i, p) in packets.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}", p.dst)?;
                }
                Ok(())
            }
            Action::ArmTimer { kind, at } => write!(f, "arm-timer {} {}", kind.name(), at),
            Action::CancelTimer { kind } => write!(f, "cancel-timer {}", kind.name()),
            Action::AddVips => f.write_str("add-vips"),
            Action::RemoveVips => f.write_str("remove-vips"),
            Action::SendGratuitous { repeat } => write!(f, "garp repeat={repeat}"),
            Action::Notify(e) => write!(f, "notify {e}"),
            Action::PriorityChanged { from, to } => write!(f, "priority {from}->{to}"),
            Action::StateChanged { from, to } => write!(f, "state {from}->{to}"),
            Action::SyncWantMaster => f.write_str("sync-want-master"),
            Action::Rejected(e) => write!(f, "rejected {}", e.kind()),
            Action::Log(l) => match l.level {
                LogLevel::Info => write!(f, "log {}", l.text),
                LogLevel::Detail => write!(f, "log-detail {}", l.text),
            },
        }
    }
}
