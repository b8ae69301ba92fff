//! Read-only questions about clouds: providers and regions from the catalog, and spec/image
//! look-ups passed to the connection's driver (CB-Spider shapes, as the reference returns).

use tb_cloud::{CloudImage, CloudSpec};
use tb_model::resource::{
    KeyValue, Location, RegionDetail, SpiderGpuInfo, SpiderIId, SpiderImageInfo, SpiderSpecInfo, SpiderVCpuInfo,
};

use crate::{CoreError, CoreResult, Tumblebug};

fn spider_spec(region: &str, s: &CloudSpec) -> SpiderSpecInfo {
    let gpu = if s.gpu_count > 0 {
        vec![SpiderGpuInfo {
            count: s.gpu_count.to_string(),
            mfr: s.gpu_model.split_whitespace().next().unwrap_or("NA").to_string(),
            model: s.gpu_model.clone(),
            mem_size_gb: "-1".into(),
        }]
    } else {
        Vec::new()
    };
    SpiderSpecInfo {
        region: region.to_string(),
        name: s.name.clone(),
        vcpu: SpiderVCpuInfo { count: s.vcpu.to_string(), clock_ghz: "-1".into() },
        mem_size_mib: format!("{}", (s.memory_gib * 1024.0).round() as u64),
        disk_size_gb: "-1".into(),
        gpu,
        key_value_list: vec![KeyValue { key: "Architecture".into(), value: s.architecture.clone() }],
    }
}

fn spider_image(i: &CloudImage) -> SpiderImageInfo {
    SpiderImageInfo {
        iid: SpiderIId { name_id: i.name.clone(), system_id: i.name.clone() },
        name: i.name.clone(),
        os_architecture: i.os_architecture.clone(),
        os_platform: if i.os_type.to_lowercase().contains("windows") { "Windows".into() } else { "Linux/UNIX".into() },
        os_distribution: i.os_type.clone(),
        os_disk_type: "NA".into(),
        os_disk_size_gb: "-1".into(),
        image_status: "Available".into(),
        key_value_list: Vec::new(),
    }
}

impl Tumblebug {
    pub fn providers(&self) -> Vec<String> {
        self.catalog().catalog.providers().iter().map(|p| p.name.clone()).collect()
    }

    pub fn regions_of(&self, provider: &str) -> CoreResult<Vec<RegionDetail>> {
        let snap = self.catalog();
        let provider = provider.to_lowercase();
        if !snap.catalog.providers().iter().any(|p| p.name == provider) {
            return Err(CoreError::not_found(format!("provider {provider} is not in the catalog")));
        }
        Ok(snap.catalog.regions().iter().filter(|r| r.provider == provider).map(region_detail).collect())
    }

    pub fn region_of(&self, provider: &str, region: &str) -> CoreResult<RegionDetail> {
        let snap = self.catalog();
        snap.catalog.region(&provider.to_lowercase(), region).map(region_detail).ok_or_else(|| {
            CoreError::not_found(format!("region {region} of provider {provider} is not in the catalog"))
        })
    }

    pub async fn lookup_spec(&self, connection: &str, name: &str) -> CoreResult<SpiderSpecInfo> {
        let (conn, driver) = self.clouds.resolve(connection)?;
        let spec = driver.lookup_spec(&conn, name).await?;
        Ok(spider_spec(&conn.region, &spec))
    }

    pub async fn lookup_specs(&self, connection: &str) -> CoreResult<Vec<SpiderSpecInfo>> {
        let (conn, driver) = self.clouds.resolve(connection)?;
        Ok(driver.list_specs(&conn).await?.iter().map(|s| spider_spec(&conn.region, s)).collect())
    }

    pub async fn lookup_image(&self, connection: &str, name: &str) -> CoreResult<SpiderImageInfo> {
        let (conn, driver) = self.clouds.resolve(connection)?;
        Ok(spider_image(&driver.lookup_image(&conn, name).await?))
    }

    pub async fn lookup_images(&self, connection: &str) -> CoreResult<Vec<SpiderImageInfo>> {
        let (conn, driver) = self.clouds.resolve(connection)?;
        Ok(driver.list_images(&conn).await?.iter().map(spider_image).collect())
    }
}

pub fn region_detail(r: &tb_catalog::Region) -> RegionDetail {
    RegionDetail {
        region_id: r.id.clone(),
        region_name: r.id.clone(),
        description: r.display.clone(),
        location: Location { display: r.display.clone(), latitude: r.latitude, longitude: r.longitude },
        zones: r.zones.clone(),
    }
}
