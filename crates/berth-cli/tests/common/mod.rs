//! What `berth proxy`'s root tests share: the namespaces, servers and
//! clean-up (`proxy`). Whether a root test runs here is
//! `berth_device::testing`'s rule, re-exported.
#![allow(dead_code, unused_imports)]

pub(crate) mod proxy;

pub(crate) use berth_device::testing::{is_root, precondition, require};
