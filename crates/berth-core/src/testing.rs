//! Test support, for the tests here and (with the `testing` feature) for the
//! fuzz targets: the seeded link of [`crate::sim`] under the name the tests
//! use, the TCP action driver and the whole-stack driver.

pub use crate::sim::*;

pub mod stack_driver;
pub mod tcp_driver;
