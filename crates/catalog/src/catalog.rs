//! The catalog and its indexed lookups.

use std::sync::OnceLock;

use crate::key::key;
use crate::table::{Table, Upsert};
use crate::types::{ALL_REGIONS, Image, Provider, Region, Spec};
use crate::{CatalogError, ImportReport, builtin, import};

/// The whole catalog, with lookups by provider and region.
///
/// Lookups are case-insensitive (ids are compared lower-cased, as Tumblebug's
/// `{provider}+{region}+{name}` ids are) and served from hash indexes.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    providers: Table<Provider>,
    /// Grouped by provider.
    regions: Table<Region>,
    /// Grouped by provider+region.
    specs: Table<Spec>,
    /// Grouped by provider+region (region `all` is a group of its own).
    images: Table<Image>,
}

impl Catalog {
    /// A catalog with nothing in it.
    pub fn empty() -> Catalog {
        Catalog::default()
    }

    /// The catalog that ships with Tumblebug (see `data/` in this crate). Parsed on every
    /// call; use [`Catalog::builtin_shared`] to parse it once per process.
    pub fn builtin() -> Catalog {
        // The data is part of the crate and a test asserts it parses; an empty catalog is
        // the only answer that cannot panic should that ever be broken.
        Catalog::try_builtin().unwrap_or_default()
    }

    /// The built-in catalog, or what is wrong with the data shipped in `data/`.
    pub fn try_builtin() -> Result<Catalog, CatalogError> {
        builtin::load()
    }

    /// The built-in catalog, parsed once per process.
    pub fn builtin_shared() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(Catalog::builtin)
    }

    /// Every provider, in insertion order.
    pub fn providers(&self) -> &[Provider] {
        self.providers.items()
    }

    /// The provider with this id.
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.get(&key(&[name]))
    }

    /// Every region, in insertion order.
    pub fn regions(&self) -> &[Region] {
        self.regions.items()
    }

    /// The regions of one provider, in insertion order.
    pub fn regions_of(&self, provider: &str) -> Vec<&Region> {
        collect(&self.regions, self.regions.group(&key(&[provider])))
    }

    /// One region of one provider.
    pub fn region(&self, provider: &str, region: &str) -> Option<&Region> {
        self.regions.get(&key(&[provider, region]))
    }

    /// Every spec, in insertion order.
    pub fn specs(&self) -> &[Spec] {
        self.specs.items()
    }

    /// The specs offered in one region, in insertion order.
    pub fn specs_in(&self, provider: &str, region: &str) -> Vec<&Spec> {
        collect(&self.specs, self.specs.group(&key(&[provider, region])))
    }

    /// One spec of one region.
    pub fn spec(&self, provider: &str, region: &str, name: &str) -> Option<&Spec> {
        self.specs.get(&key(&[provider, region, name]))
    }

    /// A spec by Tumblebug id, `{provider}+{region}+{name}` (any case).
    pub fn spec_by_id(&self, id: &str) -> Option<&Spec> {
        self.specs.get(&id.to_lowercase())
    }

    /// Every image, in insertion order.
    pub fn images(&self) -> &[Image] {
        self.images.items()
    }

    /// Images usable in a region: the region's own and those marked `all`, in insertion order.
    pub fn images_in(&self, provider: &str, region: &str) -> Vec<&Image> {
        let everywhere = self.images.group(&key(&[provider, ALL_REGIONS]));
        if region.eq_ignore_ascii_case(ALL_REGIONS) {
            return collect(&self.images, everywhere);
        }
        let own = self.images.group(&key(&[provider, region]));
        collect(&self.images, &merge_ascending(own, everywhere))
    }

    /// One image usable in a region (the region's own or one marked `all`; the one inserted
    /// first when both exist).
    pub fn image(&self, provider: &str, region: &str, name: &str) -> Option<&Image> {
        let own = self.images.position(&key(&[provider, region, name]));
        let everywhere = self.images.position(&key(&[provider, ALL_REGIONS, name]));
        let first = match (own, everywhere) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        first.and_then(|i| self.images.at(i))
    }

    /// Adds a provider or replaces the one with the same id.
    pub fn upsert_provider(&mut self, provider: Provider) -> Upsert {
        let k = key(&[&provider.name]);
        self.providers.upsert(k, String::new(), provider)
    }

    /// Adds a region or replaces the one with the same provider and id (its specs stay).
    /// An unknown provider is added too, named after its id.
    pub fn upsert_region(&mut self, region: Region) -> Upsert {
        if self.provider(&region.provider).is_none() {
            self.upsert_provider(Provider { name: region.provider.to_lowercase(), display: region.provider.clone() });
        }
        let k = key(&[&region.provider, &region.id]);
        let group = key(&[&region.provider]);
        self.regions.upsert(k, group, region)
    }

    /// Adds a spec or replaces the one with the same provider, region and name. The region is
    /// not checked: importers do that.
    pub fn upsert_spec(&mut self, spec: Spec) -> Upsert {
        let k = key(&[&spec.provider, &spec.region, &spec.name]);
        let group = key(&[&spec.provider, &spec.region]);
        self.specs.upsert(k, group, spec)
    }

    /// Adds an image or replaces the one with the same provider, region and name.
    pub fn upsert_image(&mut self, image: Image) -> Upsert {
        let k = key(&[&image.provider, &image.region, &image.name]);
        let group = key(&[&image.provider, &image.region]);
        self.images.upsert(k, group, image)
    }

    /// Mutable access for importers that override fields other than provider, region and name.
    pub(crate) fn spec_mut(&mut self, provider: &str, region: &str, name: &str) -> Option<&mut Spec> {
        self.specs.get_mut(&key(&[provider, region, name]))
    }

    /// Imports CB-Tumblebug's `cloudinfo.yaml`: adds its providers and adds or replaces its
    /// regions. Lenient: unknown keys are ignored, zones may be absent or empty, zones and
    /// coordinates may be numbers or strings; a region without usable coordinates is skipped.
    pub fn import_cloudinfo_yaml(&mut self, text: &str) -> Result<ImportReport, CatalogError> {
        import::cloudinfo::import(self, text)
    }

    /// Imports CB-Tumblebug's `cloudspec.csv`: overrides of specs the catalog already has.
    pub fn import_cloudspec_csv(&mut self, text: &str) -> Result<ImportReport, CatalogError> {
        import::cloudspec::import(self, text)
    }

    /// Imports CB-Tumblebug's `cloudimage.csv`: adds or replaces VM images.
    pub fn import_cloudimage_csv(&mut self, text: &str) -> Result<ImportReport, CatalogError> {
        import::cloudimage::import(self, text)
    }

    /// Imports the generic specs CSV described in the crate documentation: adds or replaces
    /// specs.
    pub fn import_specs_csv(&mut self, text: &str) -> Result<ImportReport, CatalogError> {
        import::specs::import(self, text)
    }
}

fn collect<'a, T>(table: &'a Table<T>, positions: &[usize]) -> Vec<&'a T> {
    positions.iter().filter_map(|&i| table.at(i)).collect()
}

/// Merges two ascending position lists, so that results keep insertion order.
fn merge_ascending(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_order() {
        assert_eq!(merge_ascending(&[1, 4, 9], &[0, 5, 6, 10]), vec![0, 1, 4, 5, 6, 9, 10]);
        assert_eq!(merge_ascending(&[], &[2]), vec![2]);
        assert_eq!(merge_ascending(&[3], &[]), vec![3]);
    }
}
