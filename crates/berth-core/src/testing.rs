//! Test support, for the tests here and (with the `testing` feature) for the
//! fuzz targets: the simulator ([`crate::sim`]: the seeded link, the pair)
//! under this name too, the TCP action driver and the whole-stack driver.

pub use crate::sim::*;

pub mod stack_driver;
pub mod tcp_driver;
