//! An append-only vector of records with a hash index by key and by group, so that point
//! lookups and per-region listings stay O(1) however large the catalog grows.

use std::collections::HashMap;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// The record was new.
    Added,
    /// A record with the same key was replaced in place (its position is kept).
    Replaced,
}

#[derive(Debug, Clone)]
pub(crate) struct Table<T> {
    items: Vec<T>,
    by_key: HashMap<String, usize>,
    /// Positions per group, ascending: records are only appended or replaced in place.
    by_group: HashMap<String, Vec<usize>>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table { items: Vec::new(), by_key: HashMap::new(), by_group: HashMap::new() }
    }
}

impl<T> Table<T> {
    pub(crate) fn items(&self) -> &[T] {
        &self.items
    }

    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&T> {
        self.position(key).map(|i| &self.items[i])
    }

    /// The caller must not change the fields the record's key and group are made of.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let i = self.position(key)?;
        self.items.get_mut(i)
    }

    pub(crate) fn at(&self, position: usize) -> Option<&T> {
        self.items.get(position)
    }

    pub(crate) fn group(&self, group: &str) -> &[usize] {
        self.by_group.get(group).map_or(&[], Vec::as_slice)
    }

    /// Inserts `item` under `key` (and `group`), or replaces the record with the same key.
    /// A replaced record keeps its group: keys include the group, so it cannot change.
    pub(crate) fn upsert(&mut self, key: String, group: String, item: T) -> Upsert {
        if let Some(&i) = self.by_key.get(&key) {
            self.items[i] = item;
            return Upsert::Replaced;
        }
        let i = self.items.len();
        self.items.push(item);
        self.by_key.insert(key, i);
        self.by_group.entry(group).or_default().push(i);
        Upsert::Added
    }
}
