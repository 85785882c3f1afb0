//! What every packet view shares (docs/ARCHITECTURE.md rule 4): the
//! [`packet_view!`] macro declares a view, `Packet<T: AsRef<[u8]>>` over a
//! buffer, with its `new_unchecked`, `new_checked` and `into_inner`; the
//! [`Fields`] and [`FieldsMut`] traits read and write the big-endian
//! integers its getters and setters are made of.
//!
//! What differs from one protocol to the next stays in its file: `check_len`
//! (which length fields it must follow, and why), and every getter and
//! setter, each with its own documentation and RFC citation.

use core::ops::Range;

/// Declares a packet view: the struct, `new_unchecked`, `new_checked` (which
/// calls the view's own `check_len`) and `into_inner`, as `wire/mod.rs`
/// documents them, and the [`Fields`] and [`FieldsMut`] byte accessors.
///
/// ```text
/// packet_view! {
///     /// A view over a UDP datagram.
///     pub struct Packet;
/// }
/// ```
macro_rules! packet_view {
    ($(#[$attr:meta])* $vis:vis struct $name:ident;) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps a buffer without checking its length: only for a buffer
            /// sized for the packet, as `emit` is given.
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps a buffer and checks that every getter stays inside it
            /// ([`Self::check_len`]). Untrusted bytes always come in here.
            pub fn new_checked(buffer: T) -> $crate::wire::Result<Self> {
                let packet = Self::new_unchecked(buffer);
                packet.check_len()?;
                Ok(packet)
            }

            /// Gives the buffer back.
            pub fn into_inner(self) -> T {
                self.buffer
            }
        }

        impl<T: AsRef<[u8]>> $crate::wire::view::Fields for $name<T> {
            fn bytes(&self) -> &[u8] {
                self.buffer.as_ref()
            }
        }

        impl<T: AsRef<[u8]> + AsMut<[u8]>> $crate::wire::view::FieldsMut for $name<T> {
            fn bytes_mut(&mut self) -> &mut [u8] {
                self.buffer.as_mut()
            }
        }
    };
}
pub(super) use packet_view;

/// Big-endian reads of a view's fields, at the ranges its `field` module
/// names. Each read panics if the range is outside the buffer, which
/// `check_len` rules out for the getters that use it.
pub(super) trait Fields {
    /// The whole buffer.
    fn bytes(&self) -> &[u8];

    /// The two bytes at `range`, big-endian.
    fn get_u16(&self, range: Range<usize>) -> u16 {
        let b = &self.bytes()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The four bytes at `range`, big-endian.
    fn get_u32(&self, range: Range<usize>) -> u32 {
        let b = &self.bytes()[range];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// Big-endian writes of a view's fields, for its setters.
pub(super) trait FieldsMut {
    /// The whole buffer, mutably.
    fn bytes_mut(&mut self) -> &mut [u8];

    /// Writes `value` big-endian into the two bytes at `range`.
    fn set_u16(&mut self, range: Range<usize>, value: u16) {
        self.bytes_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes `value` big-endian into the four bytes at `range`.
    fn set_u32(&mut self, range: Range<usize>, value: u32) {
        self.bytes_mut()[range].copy_from_slice(&value.to_be_bytes());
    }
}
