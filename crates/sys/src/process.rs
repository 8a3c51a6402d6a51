//! Process-level system calls (prctl, process groups).
