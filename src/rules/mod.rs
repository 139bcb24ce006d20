//! The SLA rule files (DESIGN §3).
