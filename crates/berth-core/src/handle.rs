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

/// Hashes [`SocketHandle`]s for maps keyed by them ([`HandleMap`],
/// [`HandleSet`]). Handles are the stack's own (dense slot indices and
/// their generations, never a value a peer chooses), so they need no keyed
/// hash against collisions aimed at one bucket, as the port table's keys
/// do: a rotate, xor and multiply per word (FxHash's) spreads them, at a
/// few instructions where SipHash takes dozens.
#[derive(Debug, Default, Clone, Copy)]
pub struct HandleHasher(u64);

impl HandleHasher {
    /// FxHash's multiplier (from the golden ratio).
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl core::hash::Hasher for HandleHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.get_mut(..chunk.len())
                .unwrap_or_default()
                .copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// Builds [`HandleHasher`]s.
pub type BuildHandleHasher = core::hash::BuildHasherDefault<HandleHasher>;

/// A map keyed by [`SocketHandle`]s, hashed with [`HandleHasher`].
pub type HandleMap<V> = std::collections::HashMap<SocketHandle, V, BuildHandleHasher>;

/// A set of [`SocketHandle`]s, hashed with [`HandleHasher`].
pub type HandleSet = std::collections::HashSet<SocketHandle, BuildHandleHasher>;

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

    #[test]
    fn handle_maps_tell_handles_apart() {
        let mut slab = Slab::default();
        let mut map = HandleMap::default();
        let handles: Vec<_> = (0..1000).map(|i| slab.insert(i)).collect();
        for (i, &h) in handles.iter().enumerate() {
            map.insert(h, i);
        }
        // A freed and reused slot is another key.
        let old = handles[7];
        slab.remove(old);
        let new = slab.insert(7);
        assert_eq!(old.index, new.index);
        map.insert(new, 1000);
        assert_eq!(map.len(), 1001);
        for (i, &h) in handles.iter().enumerate() {
            assert_eq!(map.get(&h), Some(&i));
        }
        assert_eq!(map.get(&new), Some(&1000));
        // The words spread: no two of the first thousand handles collide
        // in the low bits a table of 4096 buckets uses.
        let buckets: HandleSet = handles.iter().copied().collect();
        assert_eq!(buckets.len(), 1000);
        let low: std::collections::HashSet<u64> = handles
            .iter()
            .map(|h| core::hash::BuildHasher::hash_one(&BuildHandleHasher::default(), h) & 0xfff)
            .collect();
        assert!(low.len() > 800, "{} distinct of 1000", low.len());
    }
}
