//! Wire parse and checksum benchmarks (filled in with the wire formats).

fn main() {}
