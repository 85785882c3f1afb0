//! TCP (RFC 9293).

pub mod congestion;
pub mod isn;
