//! Socket-level system calls (packet sockets, raw socket options).
