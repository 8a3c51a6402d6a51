//! Numeric constants of the IPVS generic netlink interface, as in the kernel's
//! `include/uapi/linux/ip_vs.h` (checked against the header in `tests`), plus
//! the few generic netlink / netlink values the codec needs.

/// Generic netlink family name (`IPVS_GENL_NAME`).
pub const IPVS_GENL_NAME: &str = "IPVS";
/// Generic netlink family version (`IPVS_GENL_VERSION`).
pub const IPVS_GENL_VERSION: u8 = 0x1;
/// Maximum length of a scheduler name including the NUL (`IP_VS_SCHEDNAME_MAXLEN`).
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
/// Maximum length of a persistence engine name including the NUL (`IP_VS_PENAME_MAXLEN`).
pub const IP_VS_PENAME_MAXLEN: usize = 16;

// Service flags (`IP_VS_SVC_F_*`).
/// Persistent service.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
/// Hashed entry (set by the kernel on every service).
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
/// One-packet scheduling.
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
/// Scheduler flag 1 (sh-fallback / mh-fallback).
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
/// Scheduler flag 2 (sh-port / mh-port).
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
/// Scheduler flag 3.
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

// Forwarding methods (`IP_VS_CONN_F_*`).
/// Mask of the forwarding method bits.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
/// Masquerading / NAT.
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
/// Local node.
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
/// IP-IP (or GUE/GRE) tunnelling.
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
/// Direct routing.
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
/// Cache bypass.
pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;

// Tunnel types and encapsulation flags.
/// IPIP tunnel.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
/// GUE tunnel.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
/// GRE tunnel.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;
/// No checksum in the encapsulation.
pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
/// Checksum in the encapsulation.
pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u16 = 1 << 0;
/// Remote checksum offload.
pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 1 << 1;

// Commands (`IPVS_CMD_*`).
/// Add a service.
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
/// Modify a service.
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
/// Delete a service.
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
/// Get one service / dump all.
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
/// Add a destination.
pub const IPVS_CMD_NEW_DEST: u8 = 5;
/// Modify a destination.
pub const IPVS_CMD_SET_DEST: u8 = 6;
/// Delete a destination.
pub const IPVS_CMD_DEL_DEST: u8 = 7;
/// Dump the destinations of a service.
pub const IPVS_CMD_GET_DEST: u8 = 8;
/// Start a sync daemon.
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
/// Stop a sync daemon.
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
/// Get sync daemon status.
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
/// Set timeouts.
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
/// Get timeouts.
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
/// Reply command of GET_INFO.
pub const IPVS_CMD_SET_INFO: u8 = 14;
/// Get version and connection table size.
pub const IPVS_CMD_GET_INFO: u8 = 15;
/// Zero counters.
pub const IPVS_CMD_ZERO: u8 = 16;
/// Flush all services.
pub const IPVS_CMD_FLUSH: u8 = 17;

// Top-level attributes (`IPVS_CMD_ATTR_*`).
/// Nested service.
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
/// Nested destination.
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
/// Nested sync daemon.
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
/// TCP timeout (u32 seconds).
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
/// TCP FIN timeout (u32 seconds).
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
/// UDP timeout (u32 seconds).
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

// Service attributes (`IPVS_SVC_ATTR_*`).
/// Address family (u16).
pub const IPVS_SVC_ATTR_AF: u16 = 1;
/// IP protocol (u16).
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
/// Address (`union nf_inet_addr`, 16 bytes).
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
/// Port (be16).
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
/// Firewall mark (u32).
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
/// Scheduler name (NUL-terminated string).
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
/// Flags (`struct ip_vs_flags`).
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
/// Persistence timeout (u32 seconds).
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
/// Persistence netmask (be32 mask for IPv4, prefix length for IPv6).
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
/// Nested 32-bit stats.
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
/// Persistence engine name.
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
/// Nested 64-bit stats.
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

// Destination attributes (`IPVS_DEST_ATTR_*`).
/// Address (16 bytes).
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
/// Port (be16).
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
/// Forwarding method (u32).
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
/// Weight (u32).
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
/// Upper connection threshold (u32).
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
/// Lower connection threshold (u32).
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
/// Active connections (u32, dump only).
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
/// Inactive connections (u32, dump only).
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
/// Persistent connections (u32, dump only).
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
/// Nested 32-bit stats.
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
/// Address family of the destination (u16, Linux >= 3.18).
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
/// Nested 64-bit stats.
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
/// Tunnel type (u8, Linux >= 5.2).
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
/// Tunnel port (be16).
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
/// Tunnel flags (u16).
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

// Stats attributes (`IPVS_STATS_ATTR_*`).
/// Connections scheduled.
pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
/// Incoming packets.
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
/// Outgoing packets.
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
/// Incoming bytes.
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
/// Outgoing bytes.
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
/// Connection rate.
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
/// Incoming packet rate.
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
/// Outgoing packet rate.
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
/// Incoming byte rate.
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
/// Outgoing byte rate.
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;

// Info attributes (`IPVS_INFO_ATTR_*`).
/// IPVS version (u32, 0x010201 = 1.2.1).
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
/// Connection hash table size (u32).
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

// Sync daemon attributes (`IPVS_DAEMON_ATTR_*`) and states.
/// Daemon state (u32: master/backup).
pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
/// Multicast interface name (string).
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
/// Sync id (u32).
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
/// UDP payload size (u16).
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
/// IPv4 multicast group (be32).
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
/// IPv6 multicast group (16 bytes).
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
/// Multicast port (u16 in host order, unlike the service and destination ports).
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
/// Multicast TTL (u8).
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;
/// Sync daemon stopped.
pub const IP_VS_STATE_NONE: u32 = 0x0000;
/// Sync daemon as master.
pub const IP_VS_STATE_MASTER: u32 = 0x0001;
/// Sync daemon as backup.
pub const IP_VS_STATE_BACKUP: u32 = 0x0002;

// Netlink / generic netlink (linux/netlink.h, linux/genetlink.h).
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `GENL_ID_CTRL`: the generic netlink controller.
pub const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_GETFAMILY`.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `NLA_F_NESTED`: the attribute holds attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_TYPE_MASK`: attribute type without the nested / byte-order flags.
pub const NLA_TYPE_MASK: u16 = 0x3fff;

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u16 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u16 = 17;
/// `IPPROTO_SCTP`.
pub const IPPROTO_SCTP: u16 = 132;
