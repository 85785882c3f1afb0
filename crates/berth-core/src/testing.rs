//! Test support, for the tests here and (with the `testing` feature) for the
//! fuzz targets: the seeded link of [`crate::sim`] under the name the tests
//! use, and the TCP action driver.

pub use crate::sim::*;

pub mod tcp_driver;
