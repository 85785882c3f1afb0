//! Generational handles for the stack's sockets (docs/ARCHITECTURE.md rule
//! 13): an index into the socket table plus a generation, so a stale handle
//! to a freed and reused slot is detected instead of reaching the wrong
//! socket.

use core::fmt;

/// A socket of a [`crate::stack::Stack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketHandle {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// A table of values addressed by [`SocketHandle`]s, reusing freed slots.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub(crate) fn insert(&mut self, value: T) -> SocketHandle {
        self.len += 1;
        if let Some(index) = self.free.pop()
            && let Some(slot) = self.slots.get_mut(index as usize)
        {
            slot.0 = slot.0.wrapping_add(1);
            slot.1 = Some(value);
            return SocketHandle {
                index,
                generation: slot.0,
            };
        }
        let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push((0, Some(value)));
        SocketHandle {
            index,
            generation: 0,
        }
    }

    pub(crate) fn get(&self, h: SocketHandle) -> Option<&T> {
        match self.slots.get(h.index as usize) {
            Some((generation, Some(v))) if *generation == h.generation => Some(v),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, h: SocketHandle) -> Option<&mut T> {
        match self.slots.get_mut(h.index as usize) {
            Some((generation, Some(v))) if *generation == h.generation => Some(v),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, h: SocketHandle) -> Option<T> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.0 != h.generation {
            return None;
        }
        let value = slot.1.take()?;
        self.free.push(h.index);
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every live handle, in index order.
    pub(crate) fn handles(&self) -> impl Iterator<Item = SocketHandle> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, (generation, v))| {
                v.as_ref().map(|_| SocketHandle {
                    index: i as u32,
                    generation: *generation,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_miss() {
        let mut slab = Slab::default();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_eq!(a.index, b.index);
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
    }
}
