//! Wire formats: zero-copy views over bytes, and `Repr`s that parse and emit.
//!
//! Work in progress; see the module list below.
