//! The catalog as the application sees it: an immutable snapshot swapped atomically when
//! assets are imported, with the system namespace's spec and image objects derived once per
//! snapshot so listings are cheap.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tb_catalog::{Catalog, Image, Spec};
use tb_model::naming::{connection_name, provider_region_key};
use tb_model::resource::{ImageInfo, KeyValue, SpecInfo};

use crate::SYSTEM_NS;

pub struct CatalogSnapshot {
    pub catalog: Catalog,
    /// Every catalog spec as a `system` namespace spec object, in catalog order.
    pub specs: Vec<SpecInfo>,
    pub images: Vec<ImageInfo>,
    spec_by_id: HashMap<String, usize>,
    image_by_id: HashMap<String, usize>,
    /// The recommender's index, built on first use (a catalog change makes a new snapshot).
    spec_index: std::sync::OnceLock<Arc<tb_placement::recommend::SpecIndex>>,
}

impl CatalogSnapshot {
    pub fn new(catalog: Catalog) -> CatalogSnapshot {
        let specs: Vec<SpecInfo> = catalog.specs().iter().map(|s| spec_info(&catalog, s)).collect();
        let images: Vec<ImageInfo> = catalog.images().iter().map(image_info).collect();
        let spec_by_id = specs.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let image_by_id = images.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        CatalogSnapshot { catalog, specs, images, spec_by_id, image_by_id, spec_index: std::sync::OnceLock::new() }
    }

    /// A catalog spec by its id (`provider+region+name`, case-insensitive).
    pub fn spec(&self, id: &str) -> Option<&SpecInfo> {
        self.spec_by_id.get(&id.to_lowercase()).and_then(|&i| self.specs.get(i))
    }

    pub fn spec_index(&self) -> Arc<tb_placement::recommend::SpecIndex> {
        self.spec_index.get_or_init(|| Arc::new(tb_placement::recommend::SpecIndex::new(self.specs.clone()))).clone()
    }

    pub fn image(&self, id: &str) -> Option<&ImageInfo> {
        self.image_by_id.get(&id.to_lowercase()).and_then(|&i| self.images.get(i))
    }
}

/// Image ids must fit in a URL path segment, so `/` in CSP image names becomes `-`.
pub fn image_id(provider: &str, region: &str, name: &str) -> String {
    provider_region_key(provider, region, name).replace('/', "-")
}

pub fn spec_info(catalog: &Catalog, s: &Spec) -> SpecInfo {
    let id = provider_region_key(&s.provider, &s.region, &s.name);
    let (lat, lon) = catalog.region(&s.provider, &s.region).map(|r| (r.latitude, r.longitude)).unwrap_or((0.0, 0.0));
    let (accel_model, accel_count, accel_mem, accel_type) = match &s.gpu {
        Some(g) => (g.model.clone(), g.count, g.memory_gib, "gpu".to_string()),
        None => (String::new(), 0, 0.0, String::new()),
    };
    SpecInfo {
        resource_type: "spec".into(),
        namespace: SYSTEM_NS.into(),
        uid: id.clone(),
        name: id.clone(),
        id,
        connection_name: connection_name(&s.provider, &s.region),
        provider_name: s.provider.clone(),
        region_name: s.region.clone(),
        csp_spec_name: s.name.clone(),
        infra_type: "vm".into(),
        vcpu: s.vcpu,
        memory_gib: s.memory_gib,
        accelerator_model: accel_model,
        accelerator_count: accel_count,
        accelerator_memory_gb: accel_mem,
        accelerator_type: accel_type,
        cost_per_hour: s.cost_per_hour,
        description: s.description.clone(),
        evaluation_status: String::new(),
        evaluation_score01: s.evaluation_score01,
        root_disk_type: "default".into(),
        root_disk_size: "default".into(),
        architecture: s.architecture.clone(),
        region_latitude: lat,
        region_longitude: lon,
        system_label: "from-catalog".into(),
        ..SpecInfo::default()
    }
}

pub fn image_info(i: &Image) -> ImageInfo {
    let id = image_id(&i.provider, &i.region, &i.name);
    ImageInfo {
        resource_type: "image".into(),
        namespace: SYSTEM_NS.into(),
        uid: id.clone(),
        name: id.clone(),
        id,
        provider_name: i.provider.clone(),
        region_list: vec![i.region.clone()],
        connection_name: if i.region == "all" { String::new() } else { connection_name(&i.provider, &i.region) },
        csp_image_id: i.name.clone(),
        csp_image_name: i.name.clone(),
        infra_type: "vm".into(),
        is_gpu_image: i.is_gpu_image,
        is_basic_image: !i.is_gpu_image,
        os_type: i.os_type.clone(),
        os_architecture: i.os_architecture.clone(),
        os_platform: if i.os_type.to_lowercase().contains("windows") { "Windows".into() } else { "Linux/UNIX".into() },
        os_distribution: i.os_distribution.clone(),
        image_status: "Available".into(),
        details: vec![KeyValue { key: "source".into(), value: "catalog".into() }],
        system_label: "from-catalog".into(),
        description: i.description.clone(),
        ..ImageInfo::default()
    }
}

/// Holder of the current snapshot; readers take an `Arc` and never block writers for long.
pub struct CatalogView {
    current: RwLock<Arc<CatalogSnapshot>>,
}

impl CatalogView {
    pub fn new(catalog: Catalog) -> CatalogView {
        CatalogView { current: RwLock::new(Arc::new(CatalogSnapshot::new(catalog))) }
    }

    pub fn snapshot(&self) -> Arc<CatalogSnapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Builds a new snapshot from a modified copy of the current catalog and swaps it in.
    /// Returns what `f` returned. Concurrent updates are serialised by the write lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut Catalog) -> R) -> (R, Arc<CatalogSnapshot>) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut catalog = guard.catalog.clone();
        let out = f(&mut catalog);
        let snap = Arc::new(CatalogSnapshot::new(catalog));
        *guard = snap.clone();
        (out, snap)
    }
}
