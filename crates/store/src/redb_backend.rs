//! redb backend.
/// Placeholder until the backend lands.
pub struct RedbStore;
